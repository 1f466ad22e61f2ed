"""Schools and leaders: names checked, rosters set from pasted addresses (an address in one
school of an organisation at a time), educators found in their school by a verified address,
leader scopes, and every change audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, SchoolMember
from app.services._core.errors import Conflict, Forbidden, Invalid, NotFound
from app.services.learning import educators
from app.services.org import schools
from app.services.org.audit import Actor
from app.wiring import service_env
from tests.app.educator.educator_helpers import make_educator


@pytest.fixture
def district(make_staff, make_issuer):
    owner = make_staff("owner@district.example.org")
    return owner, make_issuer("Lakeside District", owner=owner)


def test_a_school_is_named_once_per_organisation(district, make_staff, make_issuer) -> None:
    owner, issuer = district
    actor, env = Actor(owner), service_env()
    school = schools.create(issuer, "  Hill   Elementary ", actor=actor, env=env)
    assert school.name == "Hill Elementary"
    with pytest.raises(Invalid, match="already a school"):
        schools.create(issuer, "Hill Elementary", actor=actor, env=env)
    with pytest.raises(Invalid, match="name"):
        schools.create(issuer, "   ", actor=actor, env=env)
    other = make_issuer("Other District", owner=make_staff("o@other.example.org"))
    assert schools.create(other, "Hill Elementary", actor=actor, env=env).name == "Hill Elementary"
    schools.rename(school, "Hill Primary", actor=actor, env=env)
    assert [s.name for s in schools.list_for(issuer)] == ["Hill Primary"]
    with pytest.raises(NotFound):
        schools.get(other, school.public_id)
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions.count("school.create") == 2 and "school.rename" in actions


def test_a_roster_is_set_from_pasted_addresses_and_moves_them_between_schools(district) -> None:
    owner, issuer = district
    actor, env = Actor(owner), service_env()
    hill = schools.create(issuer, "Hill", actor=actor, env=env)
    vale = schools.create(issuer, "Vale", actor=actor, env=env)
    pasted = "Ann.Lee@District.example.org, bo@district.example.org\ncy@district.example.org;"
    change = schools.set_members(hill, schools.parse_addresses(pasted), actor=actor, env=env)
    assert change == schools.RosterChange(added=3, moved=0, removed=0)
    assert schools.members(hill) == [
        "ann.lee@district.example.org", "bo@district.example.org", "cy@district.example.org"
    ]  # fmt: skip
    change = schools.set_members(vale, ["cy@district.example.org"], actor=actor, env=env)
    assert change == schools.RosterChange(added=0, moved=1, removed=0)
    change = schools.set_members(hill, ["bo@district.example.org"], actor=actor, env=env)
    assert change == schools.RosterChange(added=0, moved=0, removed=1)
    assert schools.members(hill) == ["bo@district.example.org"]
    assert schools.members(vale) == ["cy@district.example.org"]
    with pytest.raises(Invalid) as refused:
        schools.parse_addresses("bo@district.example.org not-an-address")
    assert refused.value.field == "emails"


def test_an_educator_is_in_the_school_of_a_verified_address(district) -> None:
    owner, issuer = district
    actor, env = Actor(owner), service_env()
    hill = schools.create(issuer, "Hill", actor=actor, env=env)
    ann = make_educator("ann@home.example.org")
    unverified = educators.add_email(ann, "ann@district.example.org", env)
    db.session.commit()
    schools.set_members(hill, ["ann@district.example.org"], actor=actor, env=env)
    assert schools.school_of(issuer, ann) is None
    assert schools.school_ids_by_educator(issuer) == {}
    unverified.verified_at = env.now
    db.session.commit()
    assert schools.school_of(issuer, ann) is hill
    assert schools.school_ids_by_educator(issuer) == {ann.id: hill.id}
    assert schools.school_ids_by_email(issuer) == {"ann@district.example.org": hill.id}


def test_leaders_lead_a_school_or_the_whole_organisation(district, make_staff) -> None:
    owner, issuer = district
    actor, env = Actor(owner), service_env()
    hill = schools.create(issuer, "Hill", actor=actor, env=env)
    vale = schools.create(issuer, "Vale", actor=actor, env=env)
    principal = make_staff("principal@district.example.org")
    superintendent = make_staff("super@district.example.org")
    schools.appoint(issuer, principal, hill, actor=actor, env=env)
    schools.appoint(issuer, superintendent, None, actor=actor, env=env)
    with pytest.raises(Conflict):
        schools.appoint(issuer, principal, hill, actor=actor, env=env)
    assert schools.require_leader(principal, issuer, hill).school_ids == {hill.id}
    with pytest.raises(Forbidden):
        schools.require_leader(principal, issuer, vale)
    with pytest.raises(Forbidden):
        schools.require_leader(principal, issuer)
    assert schools.require_leader(superintendent, issuer, vale).whole_organisation
    assert not schools.scope_of(owner, issuer).leads_anything
    assert [leader.staff.email for leader in schools.leaders_of(issuer)] == [
        "super@district.example.org", "principal@district.example.org"
    ]  # fmt: skip
    schools.remove(hill, actor=actor, env=env)
    assert not schools.scope_of(principal, issuer).leads_anything
    assert db.session.scalar(select(SchoolMember)) is None
    dismissed = schools.leaders_of(issuer)[0]
    schools.dismiss(dismissed, actor=actor, env=env)
    assert schools.leaders_of(issuer) == []
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"leader.appoint", "leader.dismiss", "school.remove"} <= actions
