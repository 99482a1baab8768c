"""What the Content-Security-Policy refuses, read off one HTML answer: used by tests/test_csp.py and by the crawl
(tests/test_crawl.py), which reads every page and fragment each role reaches for it."""

from __future__ import annotations

import re
from html.parser import HTMLParser

POLICY = re.compile(
    r"^default-src 'self'; script-src 'self' 'nonce-(?P<nonce>[\w-]{22})'; style-src 'self' 'nonce-(?P=nonce)'; "
    r"img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    r"frame-ancestors 'none'; form-action 'self'$"
)
HANDLER = re.compile(r"on[a-z]+")
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "hx-get", "hx-post"}
DATA_SCRIPT_TYPES = {"application/json", "application/ld+json"}  # data, never run (json_script, the chart figures)


class InlineCode(HTMLParser):
    """What the policy would refuse in one HTML answer, given the nonce it was sent with. An htmx fragment may hold
    no inline script at all: swapped into a page, it would carry a nonce other than the page's."""

    def __init__(self, nonce: str, fragment: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.nonce, self.fragment = nonce, fragment
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs_list: list[tuple[str, str | None]]) -> None:
        attrs = dict(attrs_list)
        for name, value in attrs.items():
            if HANDLER.fullmatch(name):
                self.problems.append(f"<{tag} {name}=…> (an inline event handler)")
            elif name == "style":
                self.problems.append(f'<{tag} style="{value}"> (a style attribute)')
            elif name in URL_ATTRIBUTES and (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f'<{tag} {name}="{value}">')
        if tag == "script" and "src" not in attrs and (attrs.get("type") or "").lower() not in DATA_SCRIPT_TYPES:
            if self.fragment:
                self.problems.append("an inline <script> in an htmx fragment")
            elif attrs.get("nonce") != self.nonce:
                self.problems.append(f"<script> without this answer's nonce (nonce={attrs.get('nonce')!r})")
        if tag == "style" and attrs.get("nonce") != self.nonce:
            self.problems.append(f"<style> without this answer's nonce (nonce={attrs.get('nonce')!r})")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)


def problems_in(html: str, nonce: str, *, fragment: bool) -> list[str]:
    parser = InlineCode(nonce, fragment)
    parser.feed(html)
    parser.close()
    return parser.problems
