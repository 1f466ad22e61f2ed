"""Markdown to safe HTML: criteria, narratives and descriptions are written by staff and shown
to the public, so the HTML is sanitised to a small allow-list after rendering."""

from __future__ import annotations

import functools

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_renderer = MarkdownIt("commonmark", {"html": False, "linkify": False}).disable("image")
_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "ul",
    "ol",
    "li",
    "a",
    "code",
    "pre",
    "blockquote",
    "h3",
    "h4",
    "hr",
}
_ATTRIBUTES = {"a": {"href", "title"}}


@functools.lru_cache(maxsize=1024)
def render(text: str | None) -> Markup:
    """Sanitised HTML for markdown ``text`` (raw HTML in the source is escaped, not passed on;
    links may only be http, https or mailto). Kept per process by text: the same criteria and
    narratives are shown on every view of a credential's page, and the HTML depends on nothing
    else."""
    if not text:
        return Markup("")
    html = _renderer.render(text)
    clean = nh3.clean(
        html, tags=_TAGS, attributes=_ATTRIBUTES, url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer",
    )  # fmt: skip
    return Markup(clean)  # noqa: S704 - nh3 has just sanitised it
