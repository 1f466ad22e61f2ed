"""Fixtures of the bulk tests: an issuer with an achievement, and jobs submitted but not run."""

from __future__ import annotations

from typing import Any

import pytest

from app.services._core import jobs


@pytest.fixture
def issuer(make_issuer):
    return make_issuer()


@pytest.fixture
def achievement(issuer, make_achievement):
    return make_achievement(issuer)


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[Any, ...]]]:
    """Jobs submitted but not run: confirm() queues, and the test plays the worker."""
    submitted: list[tuple[str, tuple[Any, ...]]] = []
    monkeypatch.setattr(jobs, "submit", lambda env, name, *args: submitted.append((name, args)))
    return submitted
