"""The one Markdown renderer of the app (lesson bodies): CommonMark with raw HTML escaped, not passed through, and
links checked by markdown-it's own validator (javascript:, vbscript:, file: and data: links other than images are
dropped: the text stays, no link is made). Linkify is off: only written links are links."""

from __future__ import annotations

from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

_RENDERER = MarkdownIt("commonmark", {"html": False, "linkify": False})


def render(text: str) -> SafeString:
    """HTML of `text`, safe to put in a page (the renderer escapes every character of the source that is not
    Markdown syntax)."""
    return mark_safe(_RENDERER.render(text or ""))  # noqa: S308 - html disabled: markdown-it escapes raw HTML
