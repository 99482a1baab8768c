"""What the Content-Security-Policy refuses, read off one HTML answer: used by tests/test_csp.py and by the crawl
(tests/test_crawl.py), which reads every page and fragment each role reaches for it."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

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


# One HTML answer read once: its parser events, replayed to each reader (the policy check, the crawl's links and forms,
# its visible text). Reading the markup is the costly part; handling the events is cheap.
Event = tuple[Any, ...]


class _Recorder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.events: list[Event] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.events.append(("start", tag, attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.events.append(("startend", tag, attrs))

    def handle_endtag(self, tag: str) -> None:
        self.events.append(("end", tag))

    def handle_data(self, data: str) -> None:
        self.events.append(("data", data))


def html_events(html: str) -> list[Event]:
    recorder = _Recorder()
    recorder.feed(html)
    recorder.close()
    return recorder.events


def replay(events: list[Event], parser: HTMLParser) -> None:
    """Hand `events` to `parser`'s handlers as if it had read the markup itself."""
    for event in events:
        kind = event[0]
        if kind == "start":
            parser.handle_starttag(event[1], event[2])
        elif kind == "startend":
            parser.handle_startendtag(event[1], event[2])
        elif kind == "end":
            parser.handle_endtag(event[1])
        else:
            parser.handle_data(event[1])


def problems_in(html: str | list[Event], nonce: str, *, fragment: bool) -> list[str]:
    """What the policy refuses in an answer (its markup, or its events from html_events)."""
    parser = InlineCode(nonce, fragment)
    replay(html_events(html) if isinstance(html, str) else html, parser)
    return parser.problems
