"""The imports API (sales ops only): upload a file (or several `file` parts, or a .zip) to start its dry run,
read a job (its `result` lists the warnings and every change, old and new), start its real run."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from pipeline.imports import presets, selectors, services
from pipeline.models import ImportJob
from salesops.api import UploadField
from salesops.org.auth import request_user
from salesops.org.permissions import IsSalesOps


class ImportJobSerializer(serializers.ModelSerializer[ImportJob]):
    created_by = serializers.CharField(source="created_by.username", read_only=True)
    progress = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "file_name",
            "preset",
            "mapping",
            "dry_run",
            "status",
            "progress",
            "rows_total",
            "rows_done",
            "result",
            "errors",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_progress(self, job: ImportJob) -> dict[str, Any]:
        progress = selectors.import_job_progress(job)
        return {
            "rows_done": progress.rows_done,
            "rows_total": progress.rows_total,
            "percent": progress.percent,
            "phase": progress.phase,
        }


class ImportJobListSerializer(ImportJobSerializer):
    """A job in the list: without its errors (thousands of lines, maybe), which the job itself shows."""

    class Meta(ImportJobSerializer.Meta):
        fields = [f for f in ImportJobSerializer.Meta.fields if f != "errors"]
        read_only_fields = fields


class ImportUploadSerializer(serializers.Serializer[Any]):
    file = UploadField()
    preset = serializers.ChoiceField(choices=[c for c, _ in presets.PRESET_CHOICES], required=False)
    # A JSON object, sent as text in a multipart form: {"name": "Deal", "owner": "Rep", "stage": "Stage", …}
    mapping = serializers.JSONField(required=False, binary=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        mapping = attrs.get("mapping")
        preset = attrs.get("preset")
        if mapping:
            problems = presets.mapping_problems(mapping)
            if problems:
                raise serializers.ValidationError({"mapping": problems})
        elif not preset or preset == presets.MAPPING_KEY:
            raise serializers.ValidationError({"preset": ["Give a preset or a column mapping."]})
        return attrs


class ImportJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[ImportJob]):
    serializer_class = ImportJobSerializer
    permission_classes = [IsSalesOps]
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def get_serializer_class(self) -> type[ImportJobSerializer]:
        return ImportJobListSerializer if self.action == "list" else ImportJobSerializer

    def get_queryset(self) -> QuerySet[ImportJob]:
        if self.action == "list":
            return selectors.import_jobs()
        return ImportJob.objects.select_related("created_by")

    @extend_schema(request=ImportUploadSerializer, responses={201: ImportJobSerializer})
    def create(self, request: Request) -> Response:
        upload = ImportUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        # Several `file` parts are one import, as several files chosen on the page are.
        files = request.FILES.getlist("file") or [upload.validated_data["file"]]
        job = services.import_job_create(
            actor=request_user(request),
            uploads=files,
            preset=upload.validated_data.get("preset", ""),
            mapping=upload.validated_data.get("mapping") or None,
        )
        return Response(ImportJobSerializer(job).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={202: ImportJobSerializer})
    @action(detail=True, methods=["post"])
    def run(self, request: Request, pk: str | None = None) -> Response:
        """Start the real run of a job whose dry run finished without errors."""
        job = services.import_job_start(actor=request_user(request), job=self.get_object())
        return Response(ImportJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
