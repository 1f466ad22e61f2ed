"""Credential analytics: daily counters per credential and kind, and their sums per
achievement and issuer."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.services.delivery import analytics
from app.wiring import service_env


@pytest.fixture
def setting(make_issuer, make_achievement, make_award):
    issuer = make_issuer()
    first = make_achievement(issuer, "First badge")
    second = make_achievement(issuer, "Second badge")
    elsewhere = make_issuer("Elsewhere")
    return {
        "issuer": issuer,
        "first": first,
        "second": second,
        "a": make_award(issuer, first, "a@school.example.org"),
        "b": make_award(issuer, first, "b@school.example.org"),
        "c": make_award(issuer, second, "c@school.example.org"),
        "other": make_award(elsewhere, make_achievement(elsewhere), "x@school.example.org"),
    }


def test_counts_add_up_per_day_and_kind(setting) -> None:
    env = service_env()
    yesterday = env.at(env.now - timedelta(days=1))
    for kind, at in [("view", env), ("view", env), ("view", yesterday), ("linkedin", env)]:
        analytics.record(setting["a"].id, kind, at)
    analytics.record_download(setting["a"].id, "badge.png", env)
    analytics.record_download(setting["a"].id, "qr.png", env)  # shown on the page: not a download
    analytics.record(setting["b"].id, "verify", env)
    analytics.record(setting["c"].id, "download", env)
    analytics.record(setting["other"].id, "view", env)

    assert analytics.for_credential(setting["a"].id).counts == {
        "view": 3,
        "linkedin": 1,
        "download": 1,
    }
    first = analytics.for_achievement(setting["first"].id)
    assert (first["view"], first["verify"], first["linkedin"], first["download"]) == (3, 1, 1, 1)
    assert first.total == 6
    by_achievement = analytics.by_achievement(setting["issuer"].id)
    assert by_achievement[setting["second"].id].counts == {"download": 1}
    assert set(by_achievement) == {setting["first"].id, setting["second"].id}

    mine = analytics.for_issuer(setting["issuer"].id, since=env.now.date())
    assert mine.totals.counts == {"view": 3, "linkedin": 1, "download": 2, "verify": 1}
    assert mine.shared == 2  # a (LinkedIn, download) and c (download)
    assert mine.daily == {
        env.now.date(): analytics.Activity({"view": 2, "linkedin": 1, "download": 2, "verify": 1})
    }


def test_an_unknown_kind_is_refused(setting) -> None:
    with pytest.raises(ValueError):
        analytics.record(setting["a"].id, "ip-address", service_env())


def test_nothing_counted_is_zero(setting) -> None:
    nothing = analytics.for_credential(setting["a"].id)
    assert (nothing["view"], nothing.total) == (0, 0)
    assert analytics.for_issuer(setting["issuer"].id, since=service_env().now.date()).shared == 0
