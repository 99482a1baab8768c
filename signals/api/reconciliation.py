"""The signals API: finance reconciliation: invoice lines imported, matched to won deals, mismatches with a status.

Finance and sales ops read everything; only finance writes (an upload, a reconciliation, a mismatch's status);
everyone else is answered 403 (docs/roles.md). The writes call the same services as the pages.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from salesops.kernel.ids import is_id
from signals.models import InvoiceImport, Mismatch, MismatchKind, MismatchStatus, Reconciliation
from signals.selectors import reconciliation as selectors
from signals.services import reconciliation as services

READ_METHODS = ("GET", "HEAD", "OPTIONS")


class FinanceWritesOpsReads(BasePermission):
    """Finance and sales ops read; finance writes; everyone else: 403."""

    message = "Finance reconciliation is for finance (writes) and sales ops (reads)."

    def has_permission(self, request: Any, view: Any) -> bool:
        if not selectors.may_read(request.user):
            return False
        return request.method in READ_METHODS or selectors.may_write(request.user)


class InvoiceImportSerializer(serializers.ModelSerializer[InvoiceImport]):
    created_by = serializers.CharField(source="created_by.display_name", read_only=True)
    # Amounts in different currencies are never added (no exchange rates are kept).
    amounts = serializers.DictField(
        child=serializers.DecimalField(max_digits=18, decimal_places=2),
        read_only=True,
        help_text='The lines\' total in each currency, e.g. {"EUR": "650.00", "USD": "1600.00"}.',
    )
    total_amount = serializers.DecimalField(
        max_digits=18,
        decimal_places=2,
        read_only=True,
        allow_null=True,
        help_text="The lines' total when they are all in one currency (see amounts); null when in several.",
    )

    class Meta:
        model = InvoiceImport
        fields = [
            "id",
            "file_name",
            "created_at",
            "created_by",
            "status",
            "rows_total",
            "line_count",
            "error_count",
            "first_invoice_date",
            "last_invoice_date",
            "amounts",
            "total_amount",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class InvoiceImportDetailSerializer(InvoiceImportSerializer):
    class Meta(InvoiceImportSerializer.Meta):
        fields = [*InvoiceImportSerializer.Meta.fields, "errors"]
        read_only_fields = fields


class UploadSerializer(serializers.Serializer[Any]):
    file = serializers.FileField()


class InvoiceImportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[InvoiceImport]):
    """Invoice imports; POST a multipart `file` (.csv or .xlsx) to upload one: its rows are checked by a task, and
    its lines stored only when no row is refused (`status` done; failed with `errors` naming each row)."""

    permission_classes = [FinanceWritesOpsReads]
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    queryset = InvoiceImport.objects.none()

    def get_queryset(self) -> Any:
        return (
            selectors.invoice_imports() if self.action == "list" else InvoiceImport.objects.select_related("created_by")
        )

    def get_serializer_class(self) -> Any:
        if self.action == "create":
            return UploadSerializer
        return InvoiceImportDetailSerializer if self.action == "retrieve" else InvoiceImportSerializer

    @extend_schema(request={"multipart/form-data": UploadSerializer}, responses={201: InvoiceImportDetailSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        given = UploadSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        record = services.invoice_import_create(actor=request.user, upload=given.validated_data["file"])  # type: ignore[arg-type]
        return Response(InvoiceImportDetailSerializer(record).data, status=201)


class ReconciliationSerializer(serializers.ModelSerializer[Reconciliation]):
    created_by = serializers.CharField(source="created_by.display_name", read_only=True)

    class Meta:
        model = Reconciliation
        fields = [
            "id",
            "invoice_import",
            "created_at",
            "created_by",
            "period_start",
            "period_end",
            "tolerance",
            "days_before",
            "days_after",
            "status",
            "deal_count",
            "line_count",
            "matched_deal_count",
            "matched_line_count",
            "counts",
            "error",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class ReconciliationCreateSerializer(serializers.Serializer[Any]):
    invoice_import = serializers.PrimaryKeyRelatedField(queryset=InvoiceImport.objects.all())
    period_start = serializers.DateField(required=False, allow_null=True)
    period_end = serializers.DateField(required=False, allow_null=True)
    tolerance = serializers.DecimalField(max_digits=12, decimal_places=2, required=False, allow_null=True, min_value=0)
    days_before = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=366)
    days_after = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=366)


class ReconciliationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Reconciliation]):
    """Reconciliations; POST `invoice_import` (and optionally the period, `tolerance`, `days_before`, `days_after`)
    to start one. `counts` holds the mismatches per kind once `status` is done."""

    permission_classes = [FinanceWritesOpsReads]
    serializer_class = ReconciliationSerializer
    queryset = Reconciliation.objects.none()

    def get_queryset(self) -> Any:
        return selectors.reconciliations().order_by("-created_at", "-id")

    def get_serializer_class(self) -> Any:
        return ReconciliationCreateSerializer if self.action == "create" else ReconciliationSerializer

    @extend_schema(request=ReconciliationCreateSerializer, responses={201: ReconciliationSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        given = ReconciliationCreateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = dict(given.validated_data)
        record = services.reconciliation_create(actor=request.user, invoice_import=data.pop("invoice_import"), **data)  # type: ignore[arg-type]
        return Response(ReconciliationSerializer(record).data, status=201)


HIDDEN_COLUMNS = {"reconciliation_id", "line_id", "status_changed_by_id"}


class MismatchSerializer(serializers.ModelSerializer[Mismatch]):
    status_changed_by = serializers.CharField(source="status_changed_by.display_name", read_only=True, default=None)
    invoice_amount = serializers.DecimalField(
        source="invoiced", max_digits=18, decimal_places=2, read_only=True, allow_null=True,
        help_text="What the deal was invoiced (its lines' sum), or the line's amount; null when the lines are in "
        "several currencies (`currency` names them): amounts in different currencies are never added.",
    )  # fmt: skip

    class Meta:
        model = Mismatch
        # The stored columns (services.MISMATCH_COLUMNS) with the reconciliation and who set the status by name.
        fields = [
            "id",
            "reconciliation",
            *(c for c in services.MISMATCH_COLUMNS if c not in HIDDEN_COLUMNS),
            "status_changed_by",
        ]
        read_only_fields = [f for f in fields if f not in ("status", "note")]


class MismatchStatusSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=MismatchStatus.choices)
    note = serializers.CharField(required=False, allow_blank=True, max_length=services.NOTE_MAX)


@extend_schema(
    parameters=[
        OpenApiParameter("reconciliation", int, description="Only this reconciliation's mismatches."),
        OpenApiParameter("kind", str, enum=MismatchKind.values),
        OpenApiParameter("status", str, enum=MismatchStatus.values),
        OpenApiParameter("q", str, description="Search in deal, account, invoice number and external id."),
    ]
)
class MismatchViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet[Mismatch]):
    """Mismatches; PATCH `status` (open, explained, resolved) and `note` (finance; audited)."""

    permission_classes = [FinanceWritesOpsReads]
    serializer_class = MismatchSerializer
    queryset = Mismatch.objects.none()
    http_method_names = ["get", "patch", "head", "options"]

    def get_queryset(self) -> Any:
        rows = Mismatch.objects.select_related("status_changed_by").order_by("reconciliation_id", "kind", "id")
        if self.action != "list":
            return rows
        params = self.request.query_params
        reconciliation = params.get("reconciliation", "")
        if is_id(reconciliation):
            rows = rows.filter(reconciliation_id=int(reconciliation))
        elif reconciliation:
            return rows.none()
        if params.get("kind") in MismatchKind.values:
            rows = rows.filter(kind=params["kind"])
        if params.get("status") in MismatchStatus.values:
            rows = rows.filter(status=params["status"])
        q = (params.get("q") or "").strip()[: selectors.SEARCH_MAX]
        if q:
            rows = rows.filter(
                Q(deal_name__icontains=q)
                | Q(account_name__icontains=q)
                | Q(invoice_number__icontains=q)
                | Q(deal_external_id__icontains=q)
            )
        return rows

    @extend_schema(request=MismatchStatusSerializer, responses=MismatchSerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        mismatch = self.get_object()
        given = MismatchStatusSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        record = services.mismatch_set_status(
            actor=request.user,  # type: ignore[arg-type]
            mismatch=mismatch,
            status=given.validated_data["status"],
            note=given.validated_data.get("note"),
        )
        return Response(MismatchSerializer(record).data)


def register(router: SimpleRouter) -> None:
    router.register("invoice-imports", InvoiceImportViewSet, basename="signals-invoice-import")
    router.register("reconciliations", ReconciliationViewSet, basename="signals-reconciliation")
    router.register("reconciliation-mismatches", MismatchViewSet, basename="signals-mismatch")
