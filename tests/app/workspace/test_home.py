"""The workspace dashboard (numbers, awards per week, each achievement's figures, recent awards)
and its "Award" action."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from app.models import StaffAccount
from app.services.awarding import revocation
from app.services.delivery import analytics
from app.services.learning import claims
from app.services.org import achievements, staff
from app.services.org.audit import Actor
from app.wiring import service_env
from tests.app.conftest import sign_in_directly
from tests.app.educator.educator_helpers import make_educator

TEST = Actor(label="test")


def sign_in(client: FlaskClient, account: StaffAccount) -> None:
    sign_in_directly(client, "staff", account.id)


@pytest.fixture
def owner(make_staff):
    return make_staff()


@pytest.fixture
def issuer(make_issuer, owner):
    return make_issuer(owner=owner)


@pytest.fixture
def awarded(issuer, make_achievement, make_award) -> dict[str, Any]:
    first = make_achievement(issuer, "Coaching Cycles")
    second = make_achievement(issuer, "Reading Routines")
    archived = make_achievement(issuer, "Old Badge")
    achievements.set_archived(archived, True, actor=TEST, env=service_env())
    one = make_award(issuer, first, "one@school.example.org", name="Ann One")
    two = make_award(issuer, second, "two@school.example.org")
    revocation.revoke(two, "Awarded in error", actor=TEST, env=service_env())
    env = service_env()
    analytics.record(one.id, "view", env)
    analytics.record(one.id, "view", env)
    analytics.record(one.id, "linkedin", env)
    analytics.record(two.id, "verify", env)
    return {"first": first, "second": second, "archived": archived, "one": one, "two": two}


def stat(html: str, label: str) -> str:
    found = re.search(
        r'<span class="stat-value">([\d,]+)</span> <span class="stat-label">' + label, html
    )
    assert found, label
    return found.group(1)


def test_the_dashboard_shows_the_numbers_a_chart_and_recent_awards_by_achievement(
    web, owner, issuer, awarded
) -> None:
    sign_in(web.client, owner)
    html = web.get(f"/workspace/{issuer.slug}/").get_data(as_text=True)
    assert stat(html, "issued") == "2"
    assert stat(html, "shared") == "1"
    assert stat(html, "page views") == "2"
    assert stat(html, "verifications") == "1"
    assert stat(html, "revoked") == "1"
    assert stat(html, "expiring in 30 days") == "0"
    assert stat(html, "claimed") == "0"  # neither recipient has accepted theirs yet
    # The chart: drawn on the server, twelve weeks, the latest holding both awards.
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert svg.count('class="chart-bar') == 12
    assert "2 in the week of" in svg
    # And page views per week: the two views of today.
    views = html[html.index('id="views-chart-title"') :].split("</svg>")[0]
    assert views.count('class="chart-bar') == 12
    assert "Credential page views in each of the last 12 weeks:" in views
    assert views.count(" in the week of ") == 12 and "2 in the week of" in views
    assert "public pages in the last 12 weeks: 2." in html
    assert "<script" not in html and "style=" not in html
    # Per achievement: issued, claimed, views, verifications, LinkedIn, downloads, wallets.
    row = html[html.index(">Coaching Cycles</a>") :].split("</tr>")[0]
    assert re.findall(r'<td data-label="\w+">([\d,]+)</td>', row) == [
        "1", "0", "2", "0", "1", "0", "0"
    ]  # fmt: skip
    # Recent awards name their achievement.
    recent = html[html.index('id="recent-heading"') :]
    assert "Ann One" in recent and "Coaching Cycles" in recent and "Reading Routines" in recent


def test_claimed_counts_the_credentials_their_recipients_accepted(
    web, owner, issuer, make_achievement, make_award
) -> None:
    """Five issued: two claimed (one through the claim step, one claimed when issued), one
    revoked before it was claimed, two waiting. Every figure differs, so counting the wrong
    thing (issued, valid, unclaimed) shows."""
    first = make_achievement(issuer, "Coaching Cycles")
    second = make_achievement(issuer, "Reading Routines")
    env = service_env()
    accepted = make_award(issuer, first, "ann@school.example.org", name="Ann Lee")
    claims.claim(make_educator("ann@school.example.org"), accepted, public=True, env=env)
    make_award(issuer, first, "bo@school.example.org", name="Bo Ng", claimed=True)
    make_award(issuer, first, "cy@school.example.org", name="Cy Dee")
    withdrawn = make_award(issuer, second, "di@school.example.org", name="Di Eve")
    revocation.revoke(withdrawn, "Awarded in error", actor=TEST, env=env)
    make_award(issuer, second, "ed@school.example.org", name="Ed Fox")

    sign_in(web.client, owner)
    html = web.get(f"/workspace/{issuer.slug}/").get_data(as_text=True)
    assert stat(html, "issued") == "5"
    assert stat(html, "claimed") == "2"
    assert stat(html, "revoked") == "1"
    numbers = {
        name: re.findall(
            r'<td data-label="(Issued|Claimed)">([\d,]+)</td>',
            html[html.index(f">{name}</a>") :].split("</tr>")[0],
        )
        for name in ("Coaching Cycles", "Reading Routines")
    }
    assert numbers == {
        "Coaching Cycles": [("Issued", "3"), ("Claimed", "2")],
        "Reading Routines": [("Issued", "2"), ("Claimed", "0")],
    }
    # Over time: this week's bar has its claimed part drawn at its foot, and says so.
    svg = html[html.index('id="chart-title"') :].split("</svg>")[0]
    assert svg.count('class="chart-bar-part"') == 1
    assert re.search(r"5 in the week of \d\d \w+ \(2 claimed\)\.</title>", svg)
    assert "5 awarded in the last 12 weeks, 2 of them claimed." in html


def test_the_award_action_offers_awardable_achievements_and_goes_to_the_form(
    web, owner, issuer, awarded
) -> None:
    sign_in(web.client, owner)
    html = web.get(f"/workspace/{issuer.slug}/").get_data(as_text=True)
    form = html[html.index(f'action="/workspace/{issuer.slug}/award"') :].split("</form>")[0]
    assert 'class="award-start"' in form
    assert f'value="{awarded["first"].public_id}"' in form
    assert awarded["archived"].public_id not in form
    chooser = web.get(f"/workspace/{issuer.slug}/award")
    assert chooser.status_code == 200
    page = chooser.get_data(as_text=True)
    assert "Coaching Cycles" in page and "Old Badge" not in page
    public_id = awarded["first"].public_id
    assert f'href="/workspace/{issuer.slug}/achievements/{public_id}/award"' in page
    onward = web.get(f"/workspace/{issuer.slug}/award?achievement={public_id}")
    assert onward.status_code == 302
    assert onward.headers["Location"] == f"/workspace/{issuer.slug}/achievements/{public_id}/award"
    assert web.get(f"/workspace/{issuer.slug}/award?achievement=nope").status_code == 404


def test_viewers_see_the_numbers_but_not_the_award_action(web, issuer, awarded, make_staff) -> None:
    viewer = make_staff("viewer@district7.example.org", name="Vera Viewer")
    staff.set_role(issuer, viewer, "viewer", actor=TEST, env=service_env())
    sign_in(web.client, viewer)
    html = web.get(f"/workspace/{issuer.slug}/").get_data(as_text=True)
    assert stat(html, "issued") == "2" and "award-start" not in html
    assert web.get(f"/workspace/{issuer.slug}/award").status_code == 403


def test_an_empty_workspace_has_zeros_and_an_empty_chart(web, owner, issuer) -> None:
    sign_in(web.client, owner)
    html = web.get(f"/workspace/{issuer.slug}/").get_data(as_text=True)
    assert stat(html, "issued") == "0" and "Nothing awarded yet." in html
    assert html.count('chart-bar-empty"') == 24  # awards and views: nothing yet
    assert "chart-bar-part" not in html  # nothing claimed either
    assert "award-start" not in html  # nothing to award yet
    assert "There is nothing to award yet." in web.get(f"/workspace/{issuer.slug}/award").get_data(
        as_text=True
    )


def test_the_credential_and_achievement_pages_show_views_and_shares(
    web, owner, issuer, awarded
) -> None:
    sign_in(web.client, owner)
    page = web.get(f"/workspace/{issuer.slug}/credentials/{awarded['one'].id}")
    html = page.get_data(as_text=True)
    section = html[html.index('id="activity-heading"') :].split("</section>")[0]
    assert stat(section, "page views") == "2" and stat(section, "added to LinkedIn") == "1"
    assert stat(section, "verifications") == "0" and stat(section, "downloads") == "0"
    achievement = web.get(
        f"/workspace/{issuer.slug}/achievements/{awarded['second'].public_id}"
    ).get_data(as_text=True)
    section = achievement[achievement.index('id="activity-heading"') :].split("</section>")[0]
    assert stat(section, "verifications") == "1" and stat(section, "page views") == "0"
