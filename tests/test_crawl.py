"""Sign in as each demo role and crawl the whole hub: no page or form answers a server error, no link a role is
shown is broken, and no page or fragment holds code the Content-Security-Policy would refuse (tests/csp_policy.py).

The demo company is loaded once for the module inside a transaction rolled back at the end. Every request runs in a
savepoint rolled back after it (and each role's crawl in one of its own), so a form that deletes a stage, locks a
period or changes a password changes nothing for the rest of the crawl or for the next role, and a view that breaks
the transaction cannot break the next request. The cache is cleared after each submission and each role.

What is followed, breadth first from "/" and its navigation, for each role (rep, manager, finance, ops: the demo
logins; and the director, the top of the tree):

- in HTML: ``href`` of links, ``src`` of iframes, ``hx-get`` of any element (sent with ``HX-Request``, so views
  answer their fragments), API addresses written in scripts (the Swagger page loads the schema from one), and
  redirects;
- in JSON: every same-site address in an answer (``next``, a dashboard's drill-downs), to ``API_DEPTH`` answers
  deep, and the API schema's GET paths: those without a parameter are fetched, those with one are filled with the
  ``id`` (or the parameter, e.g. ``key``) of the first rows of the list they sit under;
- exports (``?export=csv`` / ``xlsx``) are read to their end: a streamed file fails only while it streams.

Not followed: sign-out, the Django admin (Django's own pages; only staff reach it), static files and other sites.
No page of the hub changes anything on a GET, so no GET link is skipped as destructive.

To stay fast, addresses are sampled by *pattern*: the resolved route with its ``<str:…>`` arguments
(``deals/<int:pk>/field/<str:field>/`` is one pattern per field), the names of the query parameters, the values of
those that look like a choice rather than an id or a date (``?export=csv`` and ``?export=xlsx`` are two patterns,
``?page=2`` and ``?page=3`` one) and whether htmx asked. Every pattern is visited (addresses of an unseen pattern go
first), then up to ``SAMPLES`` addresses of it, or ``CONTEXT_SAMPLES`` when other kinds of page link to it (a deal
reached from the board is open, one from the deal list may be won); at most ``PATTERNS_PER_ROUTE`` query-string
variants of one route are visited.

Forms (``<form>`` with ``action``, ``hx-post`` or ``hx-get``; an element with its own ``hx-post``; the board's drag
and drop, which board.js posts to ``data-move-url-template``) are submitted once per role, pattern of their target
and named submit button, as a browser would: hidden inputs, checked boxes, the selected option (the first real one
for a required select), textarea text, the demo password where the current one is asked for, and a plausible value
by type (date → today, number → 1, e-mail, text → "Crawl test") for each empty required field. A form whose every
button is disabled cannot be submitted and is not. A POST is followed through its redirect before the savepoint
rolls back; a GET form's answer is crawled like a link, and so are its selects' other options (the period picker
that opens a locked period, a filter per deal type). A form refused with validation errors is fine.

What fails:

- any answer 500 or above (or an exception while a file streams), for a page or a submission;
- a broken link: an address found on a page the role could open, or where a submission redirects, that answers
  404 or 405; or 403 for a link, hx-get or GET-form choice shown in HTML (the role was shown something it may not
  open). Addresses the API schema lists are shown to no one, so their 403 and 404 are scope decisions, not broken
  links; neither is a 403 for an API detail filled from a list's rows (finance's and sales ops' endpoints refuse
  the others).

Every failure names the role, the address, the page that led to it and the exception. ``-s`` prints what each role
covered; ``SALESOPS_CRAWL_LOG=<file>`` writes every request, with its answer, its time and the page it came from.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import time
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import pytest
import yaml
from django.conf import settings
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import Resolver404, resolve
from django.utils import timezone

from reporting.builders import DASHBOARDS
from salesops.celery import app as celery_app
from salesops.org.models import User
from tests.csp_policy import POLICY, Event, html_events, problems_in, replay
from tests.demo_snapshot import load_demo

pytestmark = pytest.mark.django_db

ROLES = ["rep", "manager", "finance", "ops", "director"]
# This module crawls as the first three; tests/test_crawl_ops.py as the others, so that pytest-xdist's two workers
# share the crawl (each module reads its CRAWLED_ROLES).
CRAWLED_ROLES = ROLES[:3]
DEMO_PASSWORD = "demo"
SAMPLES = 3  # addresses visited per pattern…
CONTEXT_SAMPLES = 6  # …or up to this many when reached from a kind of page that has not linked to the pattern yet
PATTERNS_PER_ROUTE = 16  # query-string variants of one route (filters, sorting, pages, exports) worth visiting
OPTIONS_PER_SELECT = 6  # a GET form's select offers its first options as links too
MAX_REQUESTS = 1600  # per role; a role needs 570–1160 today, and running out fails the test
# libyaml's safe loader where PyYAML has it: the API schema is a large YAML document, and the pure-Python one takes
# seconds per role.
SAFE_YAML = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
API_DEPTH = 3  # JSON answers followed in a row
# The fewest routes each role must reach and forms it must submit, so the crawl cannot silently visit nothing
# (today: routes 95 / 102 / 95 / 117 / 101, forms 36 / 42 / 23 / 64 / 42; `-s` prints them).
MIN_ROUTES = {"rep": 70, "manager": 75, "finance": 70, "ops": 85, "director": 75}
MIN_FORMS = {"rep": 20, "manager": 25, "finance": 15, "ops": 40, "director": 25}

SKIPPED_PREFIXES = ("/static/", "/media/", "/admin/", "/logout/")
CHOICE_VALUE = re.compile(r"-?[A-Za-z_]{1,30}")  # ?export=csv, ?kind=month, ?ordering=-amount; not ids or dates
API_ADDRESS_IN_SCRIPT = re.compile(r"""["'](/api/v1/[^"'\s]*)["']""")

# What a page must not show a person (docs/formats.md): numbers and names in words, one date format.
MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
RAW_VALUES = {
    "a ratio with more than two decimals": re.compile(r"(?<![\d.,])\d+\.\d{3,}\b"),
    "money without thousands separators": re.compile(r"(?<![\d.,])\d{4,}\.\d{2}\b"),
    # (A ratio in multiples, "0.09×" as coverage is written, is no share.)
    "a rate or share as a fraction": re.compile(r"(?<![\d.,-])0\.(?!00\b)\d{2,}\b(?!\s?×)"),
    "a code name": re.compile(r"\b[a-z]+(?:_[a-zA-Z0-9]+)+\b"),
    "a constant": re.compile(r"\b[A-Z]+(?:_[A-Z0-9]+)+\b"),
    "a Python value": re.compile(r"\b(?:True|False|None)\b"),
    "a record number": re.compile(r"\w #\d+"),
    "an ISO date": re.compile(r"\b\d{4}-\d{2}-\d{2}\b"),
    "a date without its year": re.compile(rf"\b(?:{MONTHS})\.? \d{{1,2}}\b(?!,? \d{{4}})"),
}
# Pages that show code on purpose: the API's own documentation, and the plan JSON editor's text.
RAW_ALLOWED_ROUTES = ("api/v1/docs/", "api/v1/schema/")
FORM_ERROR = re.compile(rb'class="[^"]*\b(?:error|errorlist|has-error|flash-error)\b')
BROKEN = {404, 405}
SHOWN_IN_HTML = {"nav", "href", "hx-get", "iframe", "form-get"}  # kinds of link that also break on a 403


# ------------------------------------------------------------------------------------------------ parsing
@dataclass
class Link:
    url: str  # path and query
    referrer: str  # the page it was found on ("" for the start)
    kind: str  # nav, href, hx-get, iframe, form-get, script, redirect, json, api-row, schema, hint, start
    htmx: bool = False
    hx_target: str = ""
    depth: int = 0  # JSON answers between this address and an HTML page
    broken_if_missing: bool = True  # whether a 404/405 here is a broken link (not for schema paths)


@dataclass
class FormField:
    tag: str  # input, select, textarea
    type: str
    name: str
    value: str
    required: bool
    attrs: dict[str, str]
    checked: bool = False
    multiple: bool = False
    options: list[tuple[str, bool]] = field(default_factory=list)  # (value, selected)


@dataclass
class Submitter:
    name: str = ""
    value: str = ""
    formaction: str = ""
    formmethod: str = ""


@dataclass
class Form:
    action: str  # as written; resolved against the page
    method: str  # get or post
    htmx: bool = False
    hx_target: str = ""
    fields: list[FormField] = field(default_factory=list)
    submitters: list[Submitter] = field(default_factory=list)
    disabled_submitters: int = 0
    extra: dict[str, str] = field(default_factory=dict)  # hx-vals


class VisibleText(HTMLParser):
    """The text a person reads on a page: no scripts, styles, code samples, form values or hidden parts."""

    SKIP = {"script", "style", "code", "pre", "textarea", "svg", "option", "template", "kbd"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIP:
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self.depth:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if not self.depth and data.strip():
            self.parts.append(" ".join(data.split()))


def raw_values_in(events: list[Event]) -> list[tuple[str, str, str]]:
    """(what, the value, the text around it) for every raw value a page shows (its html_events)."""
    parser = VisibleText()
    replay(events, parser)
    return [(what, found.group(0), text[:120]) for text in parser.parts for what, pattern in RAW_VALUES.items()
            for found in pattern.finditer(text)]  # fmt: skip


class PageParser(HTMLParser):
    """The links, htmx addresses, forms, script-borne API addresses and board of one HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str, bool, str]] = []  # (address, kind, htmx, hx-target)
        self.forms: list[Form] = []
        self.scripts: list[str] = []
        self.move_template = ""
        self.stage_ids: list[str] = []
        self.draggable_deal_ids: list[str] = []
        self._form: Form | None = None
        self._select: FormField | None = None
        self._option: tuple[str | None, bool, list[str]] | None = None
        self._textarea: FormField | None = None
        self._text: list[str] = []
        self._in_script = False
        self._in_main_nav = False

    def handle_starttag(self, tag: str, attrs_list: list[tuple[str, str | None]]) -> None:
        attrs = {key: value or "" for key, value in attrs_list}
        if tag == "form":
            self._start_form(attrs)
            return
        if "hx-get" in attrs:
            self.links.append((attrs["hx-get"], "hx-get", True, attrs.get("hx-target", "")))
        if "hx-post" in attrs:  # an element that posts by itself: a form of its own name, value and hx-vals
            form = Form(
                attrs["hx-post"], "post", htmx=True, hx_target=attrs.get("hx-target", ""), extra=_hx_vals(attrs)
            )
            if attrs.get("name"):
                form.fields.append(FormField("input", "hidden", attrs["name"], attrs.get("value", ""), False, attrs))
            self.forms.append(form)
        if tag == "nav" and attrs.get("aria-label") == "Main":
            self._in_main_nav = True
        elif tag in ("a", "area") and "href" in attrs:
            self.links.append((attrs["href"], "nav" if self._in_main_nav else "href", False, ""))
        elif tag == "iframe" and attrs.get("src"):
            self.links.append((attrs["src"], "iframe", False, ""))
        elif tag == "script" and "src" not in attrs:
            self._in_script, self._text = True, []
        if attrs.get("data-move-url-template"):
            self.move_template = attrs["data-move-url-template"]
        if attrs.get("data-stage-id"):
            self.stage_ids.append(attrs["data-stage-id"])
        if attrs.get("data-deal-id") and attrs.get("draggable") == "true":
            self.draggable_deal_ids.append(attrs["data-deal-id"])
        if self._form is not None:
            self._form_element(tag, attrs)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def _start_form(self, attrs: dict[str, str]) -> None:
        if "hx-post" in attrs:
            action, method, htmx = attrs["hx-post"], "post", True
        elif "hx-get" in attrs:
            action, method, htmx = attrs["hx-get"], "get", True
        else:
            action, method, htmx = attrs.get("action", ""), (attrs.get("method") or "get").lower(), False
        self._form = Form(action, method, htmx=htmx, hx_target=attrs.get("hx-target", ""), extra=_hx_vals(attrs))
        self.forms.append(self._form)

    def _form_element(self, tag: str, attrs: dict[str, str]) -> None:
        assert self._form is not None
        disabled = "disabled" in attrs
        kind = (attrs.get("type") or ("submit" if tag == "button" else "text")).lower()
        if tag == "option" and self._select is not None:
            self._option = (attrs.get("value"), "selected" in attrs, [])
        elif (tag == "button" and kind == "submit") or (tag == "input" and kind in ("submit", "image")):
            if disabled:
                self._form.disabled_submitters += 1
            else:
                formmethod = (attrs.get("formmethod") or "").lower()
                submitter = Submitter(
                    attrs.get("name", ""), attrs.get("value", ""), attrs.get("formaction", ""), formmethod
                )
                self._form.submitters.append(submitter)
        elif disabled or not attrs.get("name") or tag == "button" or kind in ("button", "reset"):
            return
        elif tag == "input":
            field_ = FormField("input", kind, attrs["name"], attrs.get("value", ""), "required" in attrs, attrs)
            field_.checked = "checked" in attrs
            self._form.fields.append(field_)
        elif tag == "select":
            self._select = FormField("select", "select", attrs["name"], "", "required" in attrs, attrs)
            self._select.multiple = "multiple" in attrs
            self._form.fields.append(self._select)
        elif tag == "textarea":
            self._textarea = FormField("textarea", "textarea", attrs["name"], "", "required" in attrs, attrs)
            self._text = []
            self._form.fields.append(self._textarea)

    def handle_data(self, data: str) -> None:
        if self._option is not None:
            self._option[2].append(data)
        elif self._textarea is not None or self._in_script:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "nav":
            self._in_main_nav = False
        elif tag in ("option", "select") and self._select is not None:
            if self._option is not None:
                value, selected, text = self._option
                self._select.options.append((value if value is not None else "".join(text).strip(), selected))
                self._option = None
            if tag == "select":
                self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self._textarea.value = "".join(self._text).removeprefix("\n")
            self._textarea = None
        elif tag == "script" and self._in_script:
            self.scripts.append("".join(self._text))
            self._in_script = False


def _hx_vals(attrs: dict[str, str]) -> dict[str, str]:
    raw = attrs.get("hx-vals", "")
    try:
        values = json.loads(raw) if raw and not raw.startswith("js:") else {}
    except ValueError:
        return {}
    return {str(key): str(value) for key, value in values.items()} if isinstance(values, dict) else {}


# ------------------------------------------------------------------------------------------------ filling forms
def plausible(item: FormField, today: dt.date) -> str:
    """A value a person could type into an empty required field of this type."""
    kind, attrs = item.type, item.attrs
    if kind in ("number", "range"):
        value = max(1.0, float(attrs["min"])) if attrs.get("min") else 1.0
        value = min(value, float(attrs["max"])) if attrs.get("max") else value
        return str(int(value)) if value == int(value) else str(value)
    if kind == "password":  # the demo password where the current one is asked for, a strong new one elsewhere
        return DEMO_PASSWORD if "old" in item.name or "current" in item.name else "Crawl-test-pass-1"
    by_type = {
        "date": today.isoformat(),
        "datetime-local": f"{today.isoformat()}T09:00",
        "month": today.strftime("%Y-%m"),
        "time": "09:00",
        "email": "crawl.test@example.com",
        "url": "https://example.com/",
        "tel": "+1 555 0100",
    }
    if kind in by_type:
        return by_type[kind]
    text = "crawl-test" if attrs.get("pattern") else "Crawl test"
    text = text.ljust(int(attrs.get("minlength") or 0), "x")
    return text[: int(attrs["maxlength"])] if attrs.get("maxlength") else text


def form_data(form: Form, today: dt.date) -> tuple[list[tuple[str, str]], dict[str, SimpleUploadedFile]]:
    """What a browser sends for this form once a person has filled its empty required fields."""
    data: list[tuple[str, str]] = []
    files: dict[str, SimpleUploadedFile] = {}
    radios: dict[str, list[FormField]] = {}
    for item in form.fields:
        if item.tag == "select":
            # the selected options (a single select sends its first when none is), or a required one's first real one
            chosen = [value for value, selected in item.options if selected]
            if not chosen and not item.multiple:
                chosen = [value for value, _ in item.options][:1]
            if item.required and not any(chosen):
                chosen = [value for value, _ in item.options if value][:1]
            data += [(item.name, value) for value in (chosen if item.multiple else chosen[:1])]
        elif item.type == "checkbox":
            if item.checked:
                data.append((item.name, item.value or "on"))
        elif item.type == "radio":
            radios.setdefault(item.name, []).append(item)
        elif item.type == "file":
            if item.required:  # a small CSV: importers must explain what they make of it
                content = f"name,amount,close_date\nCrawl test,1,{today.isoformat()}\n".encode()
                files[item.name] = SimpleUploadedFile("crawl.csv", content, content_type="text/csv")
        elif item.type == "hidden" or item.value or not item.required:
            data.append((item.name, item.value))
        else:
            data.append((item.name, "Crawl test" if item.tag == "textarea" else plausible(item, today)))
    for name, group in radios.items():
        checked = [item for item in group if item.checked] or ([group[0]] if any(i.required for i in group) else [])
        data += [(name, item.value or "on") for item in checked]
    return data + list(form.extra.items()), files


# ------------------------------------------------------------------------------------------------ addresses
def same_site_path(raw: str, base: str) -> str | None:
    """The path and query of a same-site address worth following, or None."""
    raw = raw.strip()
    if not raw or raw.startswith(("#", "javascript:", "mailto:", "tel:", "data:")):
        return None
    parts = urlsplit(urljoin(f"http://testserver{base}", raw))
    if parts.scheme not in ("http", "https") or parts.netloc != "testserver" or parts.path.startswith(SKIPPED_PREFIXES):
        return None
    return urlunsplit(("", "", parts.path, parts.query, ""))


def route_of(path: str) -> tuple[str, tuple[tuple[str, Any], ...]] | None:
    """The URL pattern's route and its <str:…> arguments, or None when nothing resolves."""
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return match.route, tuple(sorted((name, match.kwargs[name]) for name in re.findall(r"<str:(\w+)>", match.route)))


def page_route(url: str) -> str:
    route = route_of(urlsplit(url).path) if url else None
    return route[0] if route is not None else url


def pattern_of(method: str, url: str, htmx: bool) -> tuple[Any, ...]:
    parts = urlsplit(url)
    route = route_of(parts.path) or ("unresolved", parts.path)
    query = parse_qsl(parts.query, keep_blank_values=True)
    names = tuple(sorted({name for name, _ in query}))
    choices = tuple(sorted({(name, value) for name, value in query if CHOICE_VALUE.fullmatch(value)}))
    return method, route, names, choices, htmx


# ------------------------------------------------------------------------------------------------ the crawl
@dataclass
class Answer:
    status: int
    headers: dict[str, str]  # by lower-case name
    body: bytes
    error: str  # the exception behind a server error, or one raised while a file streamed
    events: list[Event] | None = None  # an HTML answer's markup, read once (csp_policy.html_events)


@dataclass
class Failure:
    role: str
    method: str
    url: str
    status: int
    referrer: str
    detail: str = ""

    def __str__(self) -> str:
        text = f"[{self.role}] {self.method} {self.url} → {self.status} (from {self.referrer or 'the start'})"
        return f"{text}: {self.detail}" if self.detail else text


@dataclass
class Crawl:
    role: str
    requests: int = 0
    routes: set[str] = field(default_factory=set)
    patterns: set[tuple[Any, ...]] = field(default_factory=set)
    nav: dict[str, int] = field(default_factory=dict)  # navigation link → status
    forms_submitted: int = 0
    forms_refused: int = 0  # answered with validation errors or a 4xx: fine
    server_errors: list[Failure] = field(default_factory=list)
    raw_values: list[Failure] = field(default_factory=list)  # pages showing codes or unformatted numbers
    broken_links: list[Failure] = field(default_factory=list)
    policy_problems: list[Failure] = field(default_factory=list)  # what the Content-Security-Policy refuses
    html_answers: int = 0
    nonces: set[str] = field(default_factory=set)
    refused: int = 0  # 403/404 for addresses no page showed the role (schema paths, API rows): scope decisions
    left_over: int = 0  # addresses still queued when the request budget ran out
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"{self.role}: {len(self.routes)} routes, {len(self.patterns)} patterns, {self.requests} requests, "
            f"{self.forms_submitted} forms submitted ({self.forms_refused} refused with a reason), "
            f"{len(self.server_errors)} server errors, {len(self.broken_links)} broken links, "
            f"{self.refused} unshown addresses refused to the role, {self.left_over} left over, {self.seconds:.1f} s"
        )


class Crawler:
    def __init__(self, role: str, client: Client, today: dt.date) -> None:
        self.role, self.client, self.today = role, client, today
        self.result = Crawl(role=role)
        self.queues: tuple[deque[Link], deque[Link], deque[Link]] = (deque(), deque(), deque())  # by tier
        self.queued: set[tuple[str, bool]] = set()
        self.visits: Counter[tuple[Any, ...]] = Counter()  # per pattern
        self.variants: Counter[Any] = Counter()  # patterns visited per route
        self.contexts: set[tuple[tuple[Any, ...], str]] = set()  # (pattern, route of the page that linked it)
        self.forms_done: set[tuple[Any, ...]] = set()
        self.api_templates: list[tuple[str, str]] = []  # (the list's path, a path with one {parameter} under it)
        self.log_path = os.environ.get("SALESOPS_CRAWL_LOG", "")

    def run(self) -> Crawl:
        started = time.perf_counter()
        self.enqueue(Link("/", "", "start"))
        while (link := self.next_link()) is not None:
            if self.result.requests >= MAX_REQUESTS:
                self.result.left_over = 1 + sum(
                    self.tier(queued) is not None for queue in self.queues for queued in queue
                )
                break
            self.visit(link)
        self.result.seconds = time.perf_counter() - started
        return self.result

    # -------------------------------------------------------------------------------------- the queue
    def tier(self, link: Link) -> int | None:
        """0: an unseen pattern; 1: a pattern not yet reached from this kind of page; 2: another sample; None: done."""
        pattern = pattern_of("GET", link.url, link.htmx)
        visits = self.visits[pattern]
        if visits == 0:
            return 0 if self.variants[pattern[1]] < PATTERNS_PER_ROUTE else None
        if visits < CONTEXT_SAMPLES and (pattern, page_route(link.referrer)) not in self.contexts:
            return 1
        return 2 if visits < SAMPLES else None

    def enqueue(self, link: Link) -> None:
        if (link.url, link.htmx) not in self.queued:
            self.queued.add((link.url, link.htmx))
            tier = self.tier(link)
            if tier is not None:
                self.queues[tier].append(link)

    def next_link(self) -> Link | None:
        for tier, queue in enumerate(self.queues):
            while queue:
                link = queue.popleft()
                now = self.tier(link)  # a link's tier only worsens as the crawl goes on
                if now == tier:
                    return link
                if now is not None:
                    self.queues[now].append(link)
        return None

    # -------------------------------------------------------------------------------------- requests
    def request(self, method: str, url: str, *, referrer: str, htmx: bool = False, hx_target: str = "",
                data: list[tuple[str, str]] | None = None, files: dict[str, Any] | None = None,
                keep: bool = False) -> Answer:  # fmt: skip
        """One request in a savepoint rolled back after it, unless `keep` (the caller's savepoint will be, after
        following where a submission leads); the session cookie is put back after it too (a password change
        rotates the session, and the rollback forgets the new one)."""
        headers: dict[str, str] = {}
        if htmx:
            headers = {"HX-Request": "true", "HX-Current-URL": f"http://testserver{referrer or '/'}"}
            if hx_target:
                headers["HX-Target"] = hx_target.lstrip("#")
        session = self.client.cookies[settings.SESSION_COOKIE_NAME].value
        route = route_of(urlsplit(url).path)
        if route is not None:
            self.result.routes.add(route[0])
        self.result.requests += 1
        started = time.perf_counter()
        response: Any  # the test client's answer carries exc_info, which the stubs do not know
        with transaction.atomic():
            if method == "GET":
                response = self.client.get(url, headers=headers)
            elif files:
                payload: dict[str, Any] = dict(files)
                for name, value in data or []:
                    payload.setdefault(name, []).append(value)
                response = self.client.post(url, payload, headers=headers)
            else:
                response = self.client.post(url, urlencode(data or []), "application/x-www-form-urlencoded",
                                            headers=headers)  # fmt: skip
            error = ""
            if response.exc_info:
                error = f"{type(response.exc_info[1]).__name__}: {response.exc_info[1]}"
            try:  # a streamed export fails only while it streams
                body = b"".join(response.streaming_content) if response.streaming else response.content
            except Exception as raised:  # whatever it is, it is the failure to report
                body, error = b"", f"while streaming: {type(raised).__name__}: {raised}"
            rollback = not keep or response.status_code >= 500
            transaction.set_rollback(rollback)
        if rollback:
            self.client.cookies[settings.SESSION_COOKIE_NAME] = session
        answer = Answer(response.status_code, {key.lower(): value for key, value in response.items()}, body, error)
        self.check_policy(answer, method, url, referrer, htmx)
        if self.log_path:
            with open(self.log_path, "a", encoding="utf-8") as log:
                took = (time.perf_counter() - started) * 1000
                log.write(f"{self.role} {method} {url} {answer.status} {htmx} {took:.0f}ms from {referrer} {error}\n")
        return answer

    def check_policy(self, answer: Answer, method: str, url: str, referrer: str, htmx: bool) -> None:
        """Every HTML answer (page, fragment, form answer, error page) carries the policy with a nonce never sent
        before, and holds nothing the policy would refuse."""
        if not answer.headers.get("content-type", "").startswith("text/html") or not answer.body:
            return
        self.result.html_answers += 1
        match = POLICY.match(answer.headers.get("content-security-policy", ""))
        where = url + (" (htmx)" if htmx else "")
        if match is None:
            self.result.policy_problems.append(
                Failure(self.role, method, where, answer.status, referrer, "no or another Content-Security-Policy")
            )
            return
        if match["nonce"] in self.result.nonces:
            self.result.policy_problems.append(
                Failure(self.role, method, where, answer.status, referrer, "a nonce sent before")
            )
        self.result.nonces.add(match["nonce"])
        answer.events = html_events(answer.body.decode(errors="replace"))
        for problem in problems_in(answer.events, match["nonce"], fragment=htmx):
            self.result.policy_problems.append(Failure(self.role, method, where, answer.status, referrer, problem))

    def check(self, answer: Answer, method: str, url: str, referrer: str, link: Link | None = None) -> bool:
        """Record a server error or a broken link; True for a success worth reading."""
        if answer.status >= 500 or answer.error:
            self.result.server_errors.append(Failure(self.role, method, url, answer.status, referrer, answer.error))
            return False
        if link is not None and answer.status in (403, 404, 405):
            if (answer.status in BROKEN and link.broken_if_missing) or link.kind in SHOWN_IN_HTML:
                detail = f"a {link.kind} link" + (" (htmx)" if link.htmx else "")
                self.result.broken_links.append(Failure(self.role, method, url, answer.status, referrer, detail))
            else:
                self.result.refused += 1
        return 200 <= answer.status < 300

    def visit(self, link: Link) -> None:
        pattern = pattern_of("GET", link.url, link.htmx)
        if self.visits[pattern] == 0:
            self.variants[pattern[1]] += 1
        self.visits[pattern] += 1
        self.contexts.add((pattern, page_route(link.referrer)))
        self.result.patterns.add(pattern)
        answer = self.request("GET", link.url, referrer=link.referrer, htmx=link.htmx, hx_target=link.hx_target)
        if link.kind == "nav":
            self.result.nav[link.url] = answer.status
        ok = self.check(answer, "GET", link.url, link.referrer, link)
        target = redirect_of(answer)
        path = same_site_path(target, link.url) if target else None
        if path is not None:
            self.enqueue(Link(path, link.url, "redirect", depth=link.depth))
        content_type = answer.headers.get("content-type", "")
        if ok and "html" in content_type:
            answer.body.decode()  # a page that is not UTF-8 fails here
            events = answer.events if answer.events is not None else html_events(answer.body.decode())
            if answer.status == 200 and not page_route(link.url).startswith(RAW_ALLOWED_ROUTES):
                for what, value, text in raw_values_in(events):
                    self.result.raw_values.append(
                        Failure(self.role, "GET", link.url, 200, link.referrer, f"{what}: {value!r} in {text!r}")
                    )
            self.read_html(events, link.url)
        elif ok and any(kind in content_type for kind in ("json", "openapi", "yaml")):
            self.read_api(answer.body, content_type, link)

    # -------------------------------------------------------------------------------------- HTML
    def read_html(self, events: list[Event], url: str) -> None:
        parser = PageParser()
        replay(events, parser)
        for raw, kind, htmx, hx_target in parser.links:
            path = same_site_path(raw or (url if htmx else ""), url)  # hx-get="" asks for the page itself
            if path is not None:
                self.enqueue(Link(path, url, kind, htmx=htmx, hx_target=hx_target))
        for script in parser.scripts:
            for raw in API_ADDRESS_IN_SCRIPT.findall(script):
                path = same_site_path(raw, url)
                if path is not None:
                    self.enqueue(Link(path, url, "script"))
        if parser.move_template and parser.draggable_deal_ids and len(parser.stage_ids) > 1:
            # board.js: dropping a card on another column posts that column's stage to the card's move address
            action = parser.move_template.replace("/0/", f"/{parser.draggable_deal_ids[0]}/")
            move = Form(action, "post", htmx=True, hx_target="#board-messages", extra={"stage": parser.stage_ids[-1]})
            move.submitters.append(Submitter())
            parser.forms.append(move)
        for form in parser.forms:
            self.submit(form, url)

    def submit(self, form: Form, page: str) -> None:
        if not form.submitters and form.disabled_submitters:
            return  # every button is disabled: a person cannot submit it (a deal's stage path for a reader)
        for submitter in form.submitters or [Submitter()]:
            method = (submitter.formmethod or form.method).upper()
            action = same_site_path(submitter.formaction or form.action or page, page)
            if action is None or method not in ("GET", "POST"):
                continue
            if method == "GET":
                action = urlsplit(action).path  # a GET form's query is its fields
            key = (pattern_of(method, action, form.htmx), submitter.name, re.sub(r"\d+", "0", submitter.value))
            if key in self.forms_done:
                continue
            self.forms_done.add(key)
            self.result.forms_submitted += 1
            data, files = form_data(form, self.today)
            if submitter.name:
                data.append((submitter.name, submitter.value))
            if method == "GET":
                self.submit_get(form, action, data, page)
            else:
                self.result.patterns.add(key[0])
                self.post(form, action, data, files, page)

    def submit_get(self, form: Form, action: str, data: list[tuple[str, str]], page: str) -> None:
        """The answer is crawled at once, like a link; each select's other options are queued as links."""
        variants = [data]
        for item in form.fields:
            if item.tag == "select" and not item.multiple:
                for value in [value for value, _ in item.options if value][:OPTIONS_PER_SELECT]:
                    variants.append([(name, value if name == item.name else old) for name, old in data])
        for number, values in enumerate(variants):
            query = urlencode([(name, value) for name, value in values if value != ""])
            link = Link(f"{action}?{query}" if query else action, page, "form-get", form.htmx, form.hx_target)
            if number > 0:
                self.enqueue(link)
            elif (link.url, link.htmx) not in self.queued:
                self.queued.add((link.url, link.htmx))
                self.visit(link)

    def post(self, form: Form, action: str, data: list[tuple[str, str]], files: dict[str, Any], page: str) -> None:
        """Submit, and follow the answer's redirects (up to three), in a savepoint rolled back after them."""
        session = self.client.cookies[settings.SESSION_COOKIE_NAME].value
        with transaction.atomic():
            answer = self.request("POST", action, referrer=page, htmx=form.htmx, hx_target=form.hx_target,
                                  data=data, files=files, keep=True)  # fmt: skip
            self.check(answer, "POST", action, page)
            if 400 <= answer.status < 500 or (answer.status == 200 and FORM_ERROR.search(answer.body)):
                self.result.forms_refused += 1
            current = action
            for _ in range(3):
                target = redirect_of(answer)
                path = same_site_path(target, current) if target else None
                if path is None:
                    break
                answer = self.request("GET", path, referrer=f"POST {action}")
                self.check(answer, "GET", path, f"POST {action} (from {page})", Link(path, action, "redirect"))
                current = path
            transaction.set_rollback(True)
        self.client.cookies[settings.SESSION_COOKIE_NAME] = session
        cache.clear()  # nothing cached from the rolled-back changes outlives them

    # -------------------------------------------------------------------------------------- JSON
    def read_api(self, body: bytes, content_type: str, link: Link) -> None:
        try:
            document = (
                json.loads(body) if "json" in content_type else yaml.load(body, Loader=SAFE_YAML)  # noqa: S506 (a safe loader)
            )
        except (ValueError, yaml.YAMLError):
            return
        if isinstance(document, dict) and "openapi" in document and "paths" in document:
            self.read_schema(document["paths"], link.url)
            return
        if link.depth < API_DEPTH:
            for raw in strings_in(document):
                path = same_site_path(raw, link.url) if raw.startswith(("/", "http://testserver/")) else None
                if path is not None and route_of(urlsplit(path).path) is not None:
                    self.enqueue(Link(path, link.url, "json", depth=link.depth + 1))
        rows = document.get("results") if isinstance(document, dict) else document
        if not isinstance(rows, list):
            return
        list_path = urlsplit(link.url).path
        for prefix, template in self.api_templates:
            if prefix == list_path:
                param = re.findall(r"\{(\w+)\}", template)[0]
                for row in [row for row in rows if isinstance(row, dict)][:SAMPLES]:
                    value = row.get(param, row.get("id"))
                    if value is not None:
                        path = template.replace(f"{{{param}}}", str(value))
                        self.enqueue(Link(path, link.url, "api-row", depth=link.depth + 1))

    def read_schema(self, paths: dict[str, dict[str, Any]], url: str) -> None:
        for path, operations in paths.items():
            params = re.findall(r"\{(\w+)\}", path)
            if "get" in operations and not params:
                self.enqueue(Link(path, url, "schema", depth=1, broken_if_missing=False))
            elif "get" in operations and len(params) == 1:
                self.api_templates.append((path.split("{", 1)[0], path))
        template = "/api/v1/reporting/dashboards/{name}/"  # no list names the dashboards: the module does
        if template in paths:
            for name in DASHBOARDS:
                path = template.replace("{name}", name)
                self.enqueue(Link(path, url, "hint", depth=1, broken_if_missing=False))


def redirect_of(answer: Answer) -> str | None:
    """Where a redirect, or htmx's HX-Redirect / HX-Location, sends the browser."""
    target = answer.headers.get("hx-redirect") or answer.headers.get("hx-location")
    if target and target.startswith("{"):  # HX-Location may be a JSON object
        target = str(json.loads(target).get("path", ""))
    if not target and 300 <= answer.status < 400:
        target = answer.headers.get("location")
    return target or None


def strings_in(document: Any) -> Iterator[str]:
    if isinstance(document, str):
        yield document
    elif isinstance(document, dict | list):
        for value in document.values() if isinstance(document, dict) else document:
            yield from strings_in(value)


def crawl_as(role: str, today: dt.date) -> Crawl:
    client = Client(raise_request_exception=False)
    if role == "director":  # the top of the tree has no demo password: signed in directly
        client.force_login(User.objects.get(manager__isnull=True, is_manager=True))
    else:
        assert client.login(username=role, password=DEMO_PASSWORD), f"the demo login {role!r} does not sign in"
    return Crawler(role, client, today).run()


# ------------------------------------------------------------------------------------------------ tests
@pytest.fixture(scope="module")
def crawls(request: pytest.FixtureRequest, django_db_setup: None, django_db_blocker: Any) -> Iterator[dict[str, Crawl]]:
    """The crawl of each of the module's CRAWLED_ROLES, by role."""
    roles: list[str] = request.module.CRAWLED_ROLES
    with django_db_blocker.unblock():
        cache.clear()
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            load_demo()
            # The reporting tables built, as `make run` builds them after loading the demo: the dashboards' panels
            # have data to show (and to get wrong), not "not built yet".
            from reporting.refresh import rebuild_all

            rebuild_all()  # (its VACUUM, which facts_rebuild adds, cannot run inside this module's transaction)
            today = timezone.localdate()
            results: dict[str, Crawl] = {}
            for role in roles:
                with transaction.atomic():
                    results[role] = crawl_as(role, today)
                    transaction.set_rollback(True)
                cache.clear()
                print(results[role].summary())
            yield results
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            cache.clear()
            celery_app.control.purge()  # "recompute now" queued tasks on this slot's broker; no worker runs them


def listing(failures: list[Failure]) -> str:
    return "\n".join(str(failure) for failure in failures)


def test_no_page_or_form_answers_a_server_error(crawls: dict[str, Crawl]) -> None:
    failures = [failure for crawl in crawls.values() for failure in crawl.server_errors]
    assert not failures, f"{len(failures)} server errors:\n{listing(failures)}"


def test_pages_show_numbers_and_names_in_words(crawls: dict[str, Crawl]) -> None:
    """Money with separators, rates and shares as percentages, one date format with the year, names instead
    of codes: every page each role reaches (one failure per page and kind of value, to keep it readable)."""
    seen: dict[tuple[str, str], Failure] = {}
    for crawl in crawls.values():
        for failure in crawl.raw_values:
            seen.setdefault((page_route(failure.url), failure.detail.split(":")[0]), failure)
    failures = list(seen.values())
    assert not failures, f"{len(failures)} pages show raw values:\n{listing(failures)}"


def test_no_page_or_fragment_holds_code_the_content_security_policy_refuses(crawls: dict[str, Crawl]) -> None:
    """Inline event handlers, `javascript:` addresses, style attributes, scripts or styles without the answer's
    nonce (any inline script in an htmx fragment): one failure per page and problem, to stay readable."""
    for crawl in crawls.values():
        assert crawl.html_answers >= 100, f"{crawl.role}: only {crawl.html_answers} HTML answers read"
    seen: dict[tuple[str, str], Failure] = {}
    for crawl in crawls.values():
        for failure in crawl.policy_problems:
            seen.setdefault((failure.url.split("?")[0], failure.detail), failure)
    failures = list(seen.values())
    assert not failures, f"{len(failures)} answers the policy would break:\n{listing(failures)}"


def test_no_link_a_role_is_shown_is_broken(crawls: dict[str, Crawl]) -> None:
    failures = [failure for crawl in crawls.values() for failure in crawl.broken_links]
    assert not failures, f"{len(failures)} broken links:\n{listing(failures)}"


@pytest.mark.parametrize("role", CRAWLED_ROLES)
def test_each_role_crawls_its_whole_navigation(crawls: dict[str, Crawl], role: str) -> None:
    check_navigation(crawls[role], role)


def check_navigation(crawl: Crawl, role: str) -> None:
    """The role opened its whole navigation, reached its routes and forms, and the request budget sufficed."""
    assert len(crawl.nav) >= 8 and set(crawl.nav.values()) == {200}, crawl.nav
    assert len(crawl.routes) >= MIN_ROUTES[role], crawl.summary()
    assert crawl.forms_submitted >= MIN_FORMS[role], crawl.summary()
    assert crawl.left_over == 0, f"the request budget ran out: {crawl.summary()}"
