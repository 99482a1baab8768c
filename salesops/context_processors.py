"""Template context the whole hub shares."""

from __future__ import annotations

from django.http import HttpRequest


def csp(request: HttpRequest) -> dict[str, str]:
    """`{{ csp_nonce }}`: this request's Content-Security-Policy nonce (salesops.middleware.ContentSecurityPolicy),
    for an inline `<script nonce=…>`; django-htmx's `{% htmx_script %}` reads it too."""
    return {"csp_nonce": getattr(request, "csp_nonce", "")}
