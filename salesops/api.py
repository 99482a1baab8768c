"""API plumbing shared by every app: the domain error and the one exception handler."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from drf_spectacular.utils import extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.utils import html
from rest_framework.views import exception_handler as drf_exception_handler


@extend_schema_field({"type": "string", "format": "binary"})
class UploadField(serializers.FileField):
    """A file uploaded as a part of a multipart/form-data request. drf-spectacular would document a plain
    FileField as a URI (how a stored file is answered), so clients and the schema fuzz sent a string."""


class DomainError(Exception):
    """A rule of the business was broken (a blocked stage move, a locked period, …).

    Services raise it with a message a user can act on, naming the record; pages show it as a flash
    message and the API as HTTP 400 (or `status_code`).
    """

    status_code: int = status.HTTP_400_BAD_REQUEST

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code


class Forbidden(DomainError):
    status_code: int = status.HTTP_403_FORBIDDEN


class Gone(DomainError):
    """The record was deleted while the request was under way (after the page or the API found it): a 404 that
    says so, never the 500 of a write naming a row that no longer exists."""

    status_code: int = status.HTTP_404_NOT_FOUND


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        body: dict[str, Any] = {"detail": exc.message, "code": exc.code}
        if exc.field:
            body = {exc.field: [exc.message], "detail": exc.message, "code": exc.code}
        return Response(body, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = exceptions.ValidationError(detail=detail)
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    return drf_exception_handler(exc, context)


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """The API token (`Authorization: Token <key>`) in the OpenAPI schema. Defined here, in the module every API
    view imports, so it is registered before the schema (or `check --deploy`, which builds it) is generated."""

    target_class = "salesops.org.auth.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        # "Token" is the Authorization header's keyword, not a secret.
        scheme: dict[str, Any] = build_bearer_security_scheme_object(
            header_name="Authorization",
            token_prefix="Token",  # noqa: S106
        )
        return scheme


# Answers every operation may give besides its own, with the shape DRF and `exception_handler` give them.
ERROR_RESPONSES = {
    "400": 'The input was refused: `{"<field>": ["<message>", …]}` per field, or `{"detail": …, "code": …}` for a '
    "rule of the business (a locked period, a blocked stage move, a bad query parameter, …).",
    "401": "No credentials, or a token that expired or was revoked.",
    "403": "Your role may not do this (roles.md).",
    "404": "No such record, or one outside what you may see (the same answer, so it tells nothing).",
}


def document_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: document the error answers (400, 401, 403, 404) of every operation
    with one `Error` schema, so clients (and the schema fuzz) know every status the API may give."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = {
        "type": "object",
        "description": "A refusal: `detail` (and `code`) for the whole request, or a list of messages per field.",
        "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
        "additionalProperties": {},
    }
    body = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            signed_in = any(requirement for requirement in operation.get("security", []))
            for code, description in ERROR_RESPONSES.items():
                if code in ("401", "403") and not signed_in:
                    continue
                responses.setdefault(code, {"description": description, "content": body})
    return result


class FilledBooleanField(serializers.BooleanField):
    """A boolean whose blank form value (`live=`, `done=`) is refused like any other non-boolean: DRF reads a blank
    form value as left out, and so as the default (a rule switched on, a step ticked)."""

    def get_value(self, dictionary: Any) -> Any:
        if html.is_html_input(dictionary) and dictionary.get(self.field_name) == "":
            return ""
        return super().get_value(dictionary)
