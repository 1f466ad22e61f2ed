"""Fixtures for the public side: an issuer with a described achievement (alignments, criteria in
markdown), a credential with a name, narrative and evidence, and helpers to read pages."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import Flask

from app.models import Achievement, IssuedCredential, Issuer
from app.services.awarding.issuing import EvidenceInput

ALIGNMENT = {
    "target_name": "Assessment for learning",
    "target_url": "https://standards.example.org/afl",
    "target_framework": "District Teaching Standards",
    "target_code": "TS-4.2",
}
RECIPIENT = "Ann Lée"
EMAIL = "ann.lee@school.example.org"


@pytest.fixture
def issuer(make_issuer: Callable[..., Issuer]) -> Issuer:
    return make_issuer()


@pytest.fixture
def achievement(issuer: Issuer, make_achievement: Callable[..., Achievement]) -> Achievement:
    return make_achievement(
        issuer,
        "Formative Assessment in Practice",
        description="Completed the formative assessment module.",
        criteria_markdown="Complete every activity and a **reflection**.\n\n<script>alert(1)</script>",
        alignments=(ALIGNMENT,),
        credits_available=6.0,
    )


@pytest.fixture
def credential(
    issuer: Issuer, achievement: Achievement, make_award: Callable[..., IssuedCredential]
) -> IssuedCredential:
    return make_award(
        issuer, achievement, EMAIL, name=RECIPIENT, narrative="Ran *exit tickets* for a term.",
        evidence=(EvidenceInput(url="https://portfolio.example.org/ann", name="Ann's portfolio"),),
    )  # fmt: skip


@pytest.fixture
def jwt_credential(
    make_issuer: Callable[..., Issuer],
    make_achievement: Callable[..., Achievement],
    make_award: Callable[..., IssuedCredential],
) -> IssuedCredential:
    """A credential of an issuer that signs VC-JWTs."""
    issuer = make_issuer("JWT Academy", proof_format="jwt")
    return make_award(issuer, make_achievement(issuer))


@pytest.fixture
def set_clock(app: Flask) -> Callable[[datetime], None]:
    """Move the application's clock (the wiring keeps the clock it was built with)."""

    def move(now: datetime) -> None:
        app.extensions["cairn.wiring"].clock = lambda: now

    return move


class Page(HTMLParser):
    """The parts of a page the tests look at: meta tags, links, forms, scripts and styles."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.links: list[dict[str, str]] = []
        self.anchors: list[dict[str, str]] = []
        self.images: list[dict[str, str]] = []
        self.inputs: list[dict[str, str]] = []
        self.labels: list[str] = []
        self.inline_scripts = 0
        self.style_elements = 0
        self.style_attributes = 0
        self.handler_attributes: list[str] = []
        self._in_script = False
        self._text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        if "style" in found:
            self.style_attributes += 1
        self.handler_attributes += [k for k in found if k.startswith("on")]
        if tag == "meta":
            key = found.get("property") or found.get("name")
            if key:
                self.meta[key] = found.get("content", "")
        elif tag == "link":
            self.links.append(found)
        elif tag == "a":
            self.anchors.append(found)
        elif tag == "img":
            self.images.append(found)
        elif tag in ("input", "textarea", "select"):
            self.inputs.append({"tag": tag, **found})
        elif tag == "label" and "for" in found:
            self.labels.append(found["for"])
        elif tag == "script":
            if "src" not in found:
                self.inline_scripts += 1
        elif tag == "style":
            self.style_elements += 1

    def handle_data(self, data: str) -> None:
        self._text.append(data)

    @property
    def text(self) -> str:
        """The visible text, whitespace collapsed."""
        return " ".join(" ".join(self._text).split())

    def hrefs(self) -> list[str]:
        return [a.get("href", "") for a in self.anchors]

    def unlabelled_inputs(self) -> list[str]:
        """Visible form fields without a ``<label for>``."""
        return [
            i.get("id") or i.get("name", "?")
            for i in self.inputs
            if i.get("type") != "hidden" and i.get("id") not in self.labels
        ]


def page(response: Any) -> Page:
    assert response.status_code == 200, (
        response.status_code,
        response.get_data(as_text=True)[:500],
    )
    return Page(response.get_data(as_text=True))


def assert_csp_clean(html: str) -> None:
    """No inline script, style element, style attribute or event handler (the CSP forbids them)."""
    parsed = Page(html)
    assert parsed.inline_scripts == 0
    assert parsed.style_elements == 0
    assert parsed.style_attributes == 0
    assert parsed.handler_attributes == []


def checks_listed(html: str) -> dict[str, str]:
    """``{check id: mark}`` of the Verify page's check list."""
    return dict(
        re.findall(
            r'data-check="([a-z_]+)"><span class="check-mark" aria-hidden="true">(.)</span>', html
        )
    )


@pytest.fixture
def brief_award(
    issuer: Issuer, achievement: Achievement, make_award: Callable[..., IssuedCredential]
) -> IssuedCredential:
    """A credential valid for two more days: a date boundary that a kept verdict must respect."""
    from app.wiring import service_env

    found = make_award(
        issuer,
        achievement,
        "brief@school.example.org",
        valid_until=service_env().now + timedelta(days=2),
    )
    assert found.valid_until is not None
    return found
