"""The API's content negotiation (settings.REST_FRAMEWORK): DRF's, answering what the view renders when the
client accepts none of it.

The API renders JSON only (no browsable HTML API: its forms listed records outside the caller's scope). DRF's
negotiation answered a client whose Accept header names no JSON ("text/html" alone, "application/xml") with
406 on every call, hiding the call's own answer (a 404, a 401) behind it. HTTP lets a server disregard Accept
and answer in what it has (RFC 9110, 12.5.1): such a client gets the JSON answer with the call's own status. A
`?format=` naming no renderer stays a 404, as in DRF.
"""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation


class FirstRendererWhenNoneAccepted(DefaultContentNegotiation):
    def select_renderer(self, request: Any, renderers: Any, format_suffix: str | None = None) -> tuple[Any, str]:
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except NotAcceptable:
            wanted = format_suffix or request.query_params.get(self.settings.URL_FORMAT_OVERRIDE)
            renderer = next((r for r in renderers if not wanted or r.format == wanted), renderers[0])
            return renderer, renderer.media_type
