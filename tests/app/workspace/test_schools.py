"""The schools page and the leaders' pages through HTTP: schools added, renamed and removed,
rosters pasted or uploaded (with job roles), leaders appointed at once or invited (the
invitation makes a leader with no workspace role), the dashboards with their charts and CSV
exports, and PD goals recorded from the form."""

from __future__ import annotations

import csv
import io
import re

from sqlalchemy import select

from app.extensions import db
from app.models import Leader, Membership, PdGoal, SchoolMember, StaffAccount
from app.services.org import schools
from app.services.org.audit import Actor
from app.wiring import service_env
from tests.app.conftest import BASE_URL, Web
from tests.app.leaders_helpers import build_district
from tests.app.mail_helpers import link_in_delivered

INVITE_LINK = re.compile(re.escape(BASE_URL) + r"/invite/([A-Za-z0-9_\-]+)")


def test_an_owner_keeps_schools_and_rosters(web: Web, make_staff, make_issuer) -> None:
    owner = make_staff("owner@lakeside.example.org")
    issuer = make_issuer("Lakeside District", owner=owner)
    web.sign_in(owner.email)
    page = f"/workspace/{issuer.slug}/schools"
    added = web.submit(page, data={"name": "Hill Elementary"})
    assert added.status_code == 302
    school = schools.list_for(issuer)[0]
    school_page = f"{page}/{school.public_id}"
    refused = web.submit(page, data={"name": "Hill Elementary"})
    assert refused.status_code == 400 and "already a school" in refused.get_data(as_text=True)
    pasted = "ann@hill.example.org, Teacher\nbo@hill.example.org\tinstructional  coach\ncy@hill.example.org"
    response = web.submit(school_page, f"{school_page}/roster", data={"emails": pasted})
    assert response.status_code == 302
    assert {(m.email, m.role) for m in schools.roster(school)} == {
        ("ann@hill.example.org", "teacher"), ("bo@hill.example.org", "instructional coach"),
        ("cy@hill.example.org", None),
    }  # fmt: skip
    upload = b"Email,Role\r\nann@hill.example.org,teacher\r\ndi@hill.example.org,administrator\r\n"
    response = web.submit(school_page, f"{school_page}/roster",
                          data={"roster": (io.BytesIO(upload), "roster.csv")},
                          content_type="multipart/form-data")  # fmt: skip
    assert response.status_code == 302
    assert schools.members(school) == ["ann@hill.example.org", "di@hill.example.org"]
    bad = web.submit(
        school_page,
        f"{school_page}/roster",
        data={"emails": "ann@hill.example.org\nnot an address"},
    )
    assert bad.status_code == 400 and "not an email address" in bad.get_data(as_text=True)
    assert len(schools.members(school)) == 2  # nothing changed
    exported = web.get(f"{school_page}/roster.csv")
    assert list(csv.reader(io.StringIO(exported.get_data(as_text=True)))) == [
        ["email", "role"], ["ann@hill.example.org", "teacher"], ["di@hill.example.org", "administrator"]
    ]  # fmt: skip
    renamed = web.submit(school_page, f"{school_page}/rename", data={"name": "Hill Primary"})
    assert renamed.status_code == 302 and schools.list_for(issuer)[0].name == "Hill Primary"
    asked = web.submit(school_page, f"{school_page}/remove")
    assert asked.status_code == 200 and "Remove Hill Primary?" in asked.get_data(as_text=True)
    assert schools.list_for(issuer)
    removed = web.submit(school_page, f"{school_page}/remove", data={"confirmed": "1"})
    assert removed.status_code == 302 and schools.list_for(issuer) == []
    assert db.session.scalar(select(SchoolMember)) is None


def test_leaders_are_appointed_at_once_or_invited_to_lead(
    web: Web, client, make_staff, make_issuer
) -> None:
    owner = make_staff("owner@lakeside.example.org")
    issuer = make_issuer("Lakeside District", owner=owner)
    principal = make_staff("principal@lakeside.example.org", name="Pam Principal")
    hill = schools.create(issuer, "Hill", actor=Actor(owner), env=service_env())
    web.sign_in(owner.email)
    page = f"/workspace/{issuer.slug}/schools"
    done = web.submit(page, f"/workspace/{issuer.slug}/leaders",
                      data={"email": principal.email, "school": hill.public_id})  # fmt: skip
    assert done.status_code == 302
    assert schools.require_leader(principal, issuer, hill).school_ids == {hill.id}
    again = web.submit(page, f"/workspace/{issuer.slug}/leaders",
                       data={"email": principal.email, "school": hill.public_id})  # fmt: skip
    assert again.status_code == 409 and "already leads" in again.get_data(as_text=True)
    invited = web.submit(page, f"/workspace/{issuer.slug}/leaders",
                         data={"email": "Super@Lakeside.example.org", "name": "Sam Super", "school": ""})  # fmt: skip
    assert invited.status_code == 302
    listed = web.get(page).get_data(as_text=True)
    assert "super@lakeside.example.org" in listed and "Invited to lead" in listed
    token = link_in_delivered(INVITE_LINK, "super@lakeside.example.org", "lead_invite").group(1)
    # The invitee (signed out) chooses a password and leads the whole organisation.
    client.post("/logout", data={"csrf_token": web.csrf_token("/account")}, base_url=BASE_URL)
    accept = web.submit(
        f"/invite/{token}",
        data={"password": "a long enough passphrase 7", "confirm": "a long enough passphrase 7"},
    )
    assert accept.status_code == 302 and accept.headers["Location"].endswith(f"/lead/{issuer.slug}")
    account = db.session.scalar(
        select(StaffAccount).where(StaffAccount.email == "super@lakeside.example.org")
    )
    assert account is not None and schools.scope_of(account, issuer).whole_organisation
    assert db.session.scalar(select(Membership).where(Membership.staff_id == account.id)) is None
    dashboard = web.get(f"/lead/{issuer.slug}")
    assert dashboard.status_code == 200 and "<svg" in dashboard.get_data(as_text=True)
    assert web.get(f"/workspace/{issuer.slug}/").status_code == 404
    # The owner dismisses the principal.
    web.sign_in(owner.email)
    leader = db.session.scalar(select(Leader).where(Leader.staff_id == principal.id))
    assert leader is not None
    dismissed = web.submit(page, f"/workspace/{issuer.slug}/leaders/{leader.id}/dismiss")
    assert dismissed.status_code == 302 and not schools.scope_of(principal, issuer).leads_anything


def test_dashboards_draw_every_panel_with_its_table_and_csv(
    web: Web, make_staff, make_issuer, make_achievement, make_award
) -> None:
    district = build_district(make_staff, make_issuer, make_achievement, make_award)
    superintendent = make_staff("super@lakeside.example.org", name="Sam Super")
    env = service_env()
    schools.appoint(district.issuer, superintendent, None, actor=Actor(district.owner), env=env)
    web.sign_in(superintendent.email)
    slug = district.issuer.slug
    page = web.get(f"/lead/{slug}?year={district.year}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    for heading in ("Participation", "Credentials by standard", "Credentials by achievement", "PD hours",
                    "Through the year"):  # fmt: skip
        assert f">{heading}</h2>" in html
    assert html.count('role="img"') >= 5 and html.count("<title id=") >= 5 and "<desc id=" in html
    assert "2.7 Analyst" in html and "ann@hill" not in html
    exported = web.get(f"/lead/{slug}/panels/standards.csv?year={district.year}")
    assert exported.headers["Content-Type"].startswith("text/csv")
    assert list(csv.reader(io.StringIO(exported.get_data(as_text=True))))[:2] == [
        ["Standard", "Framework", "Credentials", "Educators"], ["2.7 Analyst", "ISTE Standards for Educators", "4", "4"]
    ]  # fmt: skip
    hill = web.get(
        f"/lead/{slug}/schools/{district.hill.public_id}/panels/participation.csv?year={district.year}"
    )
    assert list(csv.reader(io.StringIO(hill.get_data(as_text=True))))[1] == [
        "Hill Elementary",
        "3",
        "2",
        "1",
        "1",
        "1",
    ]
    teachers = web.get(f"/lead/{slug}/panels/participation.csv?year={district.year}&role=teacher")
    assert list(csv.reader(io.StringIO(teachers.get_data(as_text=True))))[-1] == [
        "All",
        "3",
        "3",
        "1",
        "2",
        "2",
    ]
    assert web.get(f"/lead/{slug}/panels/nothing.csv").status_code == 404
    refused = web.get(f"/lead/{slug}?from=2025-09-30&to=2025-09-01")
    assert refused.status_code == 400 and "ends before it starts" in refused.get_data(as_text=True)
    # A goal recorded from the form, with its progress on the goals page.
    form = f"/lead/{slug}/goals/new"
    empty = web.submit(form, data={})
    assert empty.status_code == 400 and "Write the goal." in empty.get_data(as_text=True)
    saved = web.submit(form, data={"school_year": str(district.year), "need": "Little use of data",
                                   "goal": "Teachers analyse student data", "standards": "2.7 Analyst",
                                   "measure": "percent_earned", "target": "60"})  # fmt: skip
    assert saved.status_code == 302
    goal = db.session.scalar(select(PdGoal))
    assert goal is not None and goal.standards == ["2.7 Analyst"]
    listed = web.get(f"/lead/{slug}/goals?year={district.year}").get_data(as_text=True)
    assert "80% (4 of 5 educators)" in listed and "Target reached" in listed
    # Bad input: a clear 4xx, never a 500.
    assert web.get(f"/lead/{slug}/goals?year=abc").status_code == 200
    assert web.get(f"/lead/{slug}/goals?year=99999").status_code == 200
    assert web.get(f"/lead/{slug}?year=abc").status_code == 400
    assert web.get(f"/lead/{slug}?school=no-such-school").status_code == 404
    assert web.get(f"/lead/{slug}?from=2020-01-01&to=2025-01-01").status_code == 400
    bad = web.submit(
        form, data={"school_year": "abc", "goal": "g", "need": "n", "measure": "x", "target": "y"}
    )
    assert bad.status_code == 400 and "Choose a school year." in bad.get_data(as_text=True)
