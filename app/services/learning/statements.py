"""Renewal statements: for a chosen period, an organisation's credentials of one educator, each
with the hours it counts for under the organisation's credit rules and its category, the totals
by category and overall against the hours required, signed by the organisation as a CLR 2.0
credential and kept so the QR code printed on its PDF leads to a page that verifies it.

The statement is a ``ClrCredential`` (the same shape as the learning records of ``records``):
each line's credential sits in it exactly as it was signed, so every line verifies on its own,
and the statement's own proof is the organisation's. What the statement adds (the hours each
line counts for, its category, the totals) is signed as the record's ``evidence``: one OB 3.0
``Evidence`` per line and one for the totals, in words, since those are terms every verifier's
contexts define (a term of Cairn's own would need a context no other verifier has). The same
figures are kept as data with the stored statement (``summary``), which the pages and the PDF read.

One write path for the educator's renewal page, the workspace and ``cairn statement``: only the
organisation's own credentials go in (it signs the statement and cannot vouch for another's);
valid today (not revoked, suspended or expired) and signed as Data Integrity JSON (a VC-JWT
cannot sit in a CLR). A statement made by staff or the command line is written in the
organisation's audit log.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import CreditRule, Educator, IssuedCredential, Issuer, RenewalStatement
from app.services._core.addresses import check_email
from app.services._core.env import ServiceEnv
from app.services._core.errors import Invalid, NotFound
from app.services.learning import credit_rules, educators
from app.services.org import audit, issuers
from app.services.org.audit import Actor
from credentials import (
    CredentialError,
    add_proof,
    build_clr,
    clr_schema_errors,
    identity_object,
)

#: Who made a statement: the educator on their renewal page, staff in the workspace, the CLI.
MADE_BY = ("educator", "staff", "cli")
#: Conversion rates when the organisation keeps no credit rules: 1 CEU = 15 clock hours (the
#: issue's figure), a point = 1 hour, a micro-credential without credit counts nothing.
AS_SIGNED = {"ceu": 15, "points": 1, "micro_credential": 0}
#: A credit unit in the signed lines' words.
UNIT_WORDS = {"clock_hours": "clock hours", "ceu": "CEUs", "points": "PD points"}


@dataclass(frozen=True)
class StatementLine:
    """One credential of a statement as it was signed: what, when, its credit and hours."""

    credential_id: str
    name: str
    awarded: str
    credit: float | None
    unit: str | None
    hours: float
    category: str | None


@dataclass(frozen=True)
class CategoryTotal:
    """A category's hours in the period against its minimum."""

    name: str
    minimum: float
    hours: float

    @property
    def missing(self) -> float:
        """The hours still needed (none once the minimum is met)."""
        return max(0.0, self.minimum - self.hours)


@dataclass(frozen=True)
class StatementView:
    """A stored statement as it was made: the signed document and the figures signed in it."""

    statement: RenewalStatement
    document: dict[str, Any]
    url: str
    holder: str
    issuer_name: str
    rule_name: str | None
    start: date
    end: date
    lines: list[StatementLine]
    categories: list[CategoryTotal]
    uncategorised: float
    total: float
    hours_required: float | None

    @property
    def missing(self) -> float:
        """Hours still needed for the rule in all (at least what the categories need)."""
        if self.hours_required is None:
            return 0.0
        return max(self.hours_required - self.total, sum(c.missing for c in self.categories), 0.0)


def statement_url(public_id: str, env: ServiceEnv) -> str:
    """Where a statement is verified: its QR code and the ``id`` it is signed with."""
    return f"{env.base_url}/statements/{public_id}"


def _number(value: float) -> int | float:
    """A figure as the statement signs it: whole numbers as integers (see the module's
    docstring), others to two places."""
    rounded = round(float(value), 2)
    return int(rounded) if rounded.is_integer() else rounded


def _addresses(address: str, educator: Educator | None) -> list[str]:
    # Like records and pathways: every confirmed address of the educator who has this one
    # counts, but only when this one is confirmed (an unconfirmed claim proves nothing).
    found = educators.verified_emails(educator) if educator is not None else []
    return list(dict.fromkeys([address, *found])) if address in found else [address]


def _as_signed_rule() -> CreditRule:
    """A rule that is not stored: hours as the credentials carry them, no categories."""
    return CreditRule(name="", categories=[], conversions=dict(AS_SIGNED), hours_required=0)


def _holder_name(educator: Educator | None, found: Sequence[IssuedCredential], address: str) -> str:
    """Who the statement is for: the name they confirmed for their credentials, else the name
    on the newest credential, else the name of their account, else the address."""
    if educator is not None and educator.credential_name:
        return educator.credential_name
    for credential in sorted(found, key=lambda c: c.issued_at, reverse=True):
        if credential.recipient_name:
            return credential.recipient_name
    return educator.name if educator is not None and educator.name else address


def create(
    issuer: Issuer,
    email: str,
    start: date,
    end: date,
    *,
    rule: CreditRule | None,
    made_by: str,
    actor: Actor | None,
    env: ServiceEnv,
) -> RenewalStatement:
    """Make, sign and keep the renewal statement of the educator at ``email`` for the days
    ``start`` to ``end`` (both included), counted by ``rule`` (``None``: hours as signed).

    :param actor: staff or the CLI, whose statement is audited; ``None`` for the educator's own.
    :raises Invalid: for a bad address or period, or when no credential of the organisation
        counts in the period.
    :raises NotFound: when the rule is not the organisation's, or the organisation has awarded
        nothing to the address (or the educator's other confirmed addresses).
    """
    address = check_email(email)
    if start > end:
        raise Invalid("The first day (from) is after the last day (to).", field="to")
    if made_by not in MADE_BY:
        raise ValueError(f"unknown maker {made_by!r}")
    if rule is not None and rule.issuer_id != issuer.id:
        raise NotFound("There are no such credit rules.")
    educator = educators.find_by_email(address)
    found = db.session.scalars(
        select(IssuedCredential)
        .where(
            IssuedCredential.issuer_id == issuer.id,
            IssuedCredential.recipient_email.in_(_addresses(address, educator)),
        )
        .order_by(IssuedCredential.issued_at, IssuedCredential.id)
    ).all()
    if not found:
        # Whether the address has an account elsewhere in Cairn is not this organisation's
        # business: the same answer either way.
        raise NotFound(f"{issuer.name} knows no educator with that address.")
    valid = [c for c in found if c.status_at(env.now) == "valid"]
    usable = [c for c in valid if c.document.startswith("{")]
    chosen = [c for c in usable if start <= c.issued_at.date() <= end]
    if not chosen and any(start <= c.issued_at.date() <= end for c in valid):
        raise Invalid(
            f"The credentials {issuer.name} awarded that educator in the period are signed as "
            "VC-JWT, which a CLR 2.0 statement cannot hold.",
            field="from",
        )
    if not chosen:
        raise Invalid(
            f"No valid credential from {issuer.name} was awarded to that educator between "
            f"{start.isoformat()} and {end.isoformat()}.",
            field="from",
        )
    counting = rule or _as_signed_rule()
    lines = [credit_rules.line_for(c, counting, issuer.name) for c in chosen]
    holder = _holder_name(educator, found, address)
    public_id = str(uuid.uuid4())
    total = sum(line.hours for line in lines)
    summary = _summary(lines, rule, start, end, holder, total)
    signed = _sign(
        issuer,
        public_id,
        holder=holder,
        emails=sorted({c.recipient_email for c in chosen}),
        documents=[json.loads(c.document) for c in chosen],
        summary=summary,
        partial=len(chosen) < len(usable),
        env=env,
    )
    statement = RenewalStatement(
        public_id=public_id,
        issuer_id=issuer.id,
        educator_id=educator.id if educator is not None else None,
        recipient_email=address,
        holder_name=holder[:200],
        rule_public_id=rule.public_id if rule is not None else None,
        rule_name=rule.name if rule is not None else None,
        period_start=start,
        period_end=end,
        total_hours=total,
        summary=summary,
        document=json.dumps(signed, ensure_ascii=False),
        made_by=made_by,
        created_at=env.now,
    )
    db.session.add(statement)
    db.session.flush()
    if actor is not None:
        audit.record(
            "renewal_statement.create",
            actor=actor,
            now=env.now,
            issuer_id=issuer.id,
            subject_type="renewal_statement",
            subject_id=public_id,
            detail={
                "from": start.isoformat(),
                "to": end.isoformat(),
                "rule": rule.public_id if rule is not None else None,
                "credentials": [c.id for c in chosen],
                "hours": _number(total),
            },
        )
    db.session.commit()
    return statement


def _summary(
    lines: Sequence[credit_rules.Line],
    rule: CreditRule | None,
    start: date,
    end: date,
    holder: str,
    total: float,
) -> dict[str, Any]:
    """The statement's own part of the signed document: period, lines, totals."""
    summary: dict[str, Any] = {
        "holder": holder,
        "periodStart": start.isoformat(),
        "periodEnd": end.isoformat(),
    }
    if rule is not None:
        summary["creditRules"] = rule.name
        summary["hoursRequired"] = _number(rule.hours_required)
    summary["totalHours"] = _number(total)
    entries = []
    for line in lines:
        entry: dict[str, Any] = {
            # The id the credential is signed with, as the embedded copy shows it.
            "credential": str(json.loads(line.credential.document).get("id", line.credential.id)),
            "achievement": line.name,
            "awarded": line.awarded.isoformat(),
        }
        if line.credit is not None:
            entry["credit"] = _number(line.credit)
            entry["creditUnit"] = line.unit or "clock_hours"
        entry["hours"] = _number(line.hours)
        if line.category is not None:
            entry["category"] = line.category
        entries.append(entry)
    summary["lines"] = entries
    if rule is not None and rule.categories:
        summary["categories"] = [
            {
                "name": str(c["name"]),
                "minimum": _number(float(c.get("minimum") or 0)),
                "hours": _number(sum(li.hours for li in lines if li.category == c["name"])),
            }
            for c in rule.categories
        ]
    return summary


def _hours_text(value: Any) -> str:
    return f"{value} hour" if value == 1 else f"{value} hours"


def _evidence(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The statement's lines and totals as OB 3.0 ``Evidence`` (terms every verifier's contexts
    define, so they are signed without a context of Cairn's own): one per line, its credential
    named by id, then the totals. ``genre`` says which is which."""
    found = []
    for line in summary["lines"]:
        unit = UNIT_WORDS.get(line.get("creditUnit", ""), line.get("creditUnit"))
        credit = f"{line['credit']} {unit}, counted as " if "credit" in line else ""
        category = line.get("category") or "not in a category"
        found.append({
            "type": ["Evidence"],
            "name": line["achievement"],
            "description": f"{credit}{_hours_text(line['hours'])}; {category}; awarded "
                           f"{line['awarded']}.",
            "narrative": f"Credential {line['credential']} in this statement.",
            "genre": "Renewal statement line",
        })  # fmt: skip
    totals = [f"{_hours_text(summary['totalHours'])} from {summary['periodStart']} to "
              f"{summary['periodEnd']}"]  # fmt: skip
    if "hoursRequired" in summary:
        totals[0] += f", of {_hours_text(summary['hoursRequired'])} required"
    totals.extend(
        f"{c['name']}: {_hours_text(c['hours'])} (at least {c['minimum']})"
        for c in summary.get("categories", [])
    )
    found.append({
        "type": ["Evidence"],
        "name": f"Totals under {summary['creditRules']}" if "creditRules" in summary else "Totals",
        "description": "; ".join(totals) + ".",
        "genre": "Renewal statement totals",
    })  # fmt: skip
    return found


def _sign(
    issuer: Issuer,
    public_id: str,
    *,
    holder: str,
    emails: list[str],
    documents: list[dict[str, Any]],
    summary: dict[str, Any],
    partial: bool,
    env: ServiceEnv,
) -> dict[str, Any]:
    record, key = issuers.signing_key(issuer, "ed25519", env)
    method = issuers.verification_method(issuer, record, env)
    period = f"{summary['periodStart']} to {summary['periodEnd']}"
    required = f" of {summary['hoursRequired']} required" if "hoursRequired" in summary else ""
    try:
        unsigned = build_clr(
            clr_id=statement_url(public_id, env),
            issuer=issuers.profile(issuer, env),
            # Hashed addresses, salted afresh, as the credentials inside name the holder (CLR's
            # identifier types have no plain name: the holder's name is the statement's own).
            subject_identifiers=[identity_object(e, salt=secrets.token_hex(16)) for e in emails],
            embedded=documents,
            name=f"Renewal statement: {summary.get('creditRules') or issuer.name}",
            description=(
                f"{issuer.name} states the credentials it awarded {holder} from {period}: "
                f"{summary['totalHours']} hours{required}."
            ),
            valid_from=env.now,
            partial=partial,
        )
        unsigned["evidence"] = _evidence(summary)
        problems = clr_schema_errors(unsigned)
        if problems:
            raise Invalid(
                "The statement would not match the CLR 2.0 schema: " + "; ".join(problems[:3])
            )
        return add_proof(
            unsigned, signer=key, verification_method=method, created=env.now, loader=env.loader
        )
    except (ValueError, CredentialError) as exc:
        raise Invalid(f"The statement could not be made: {getattr(exc, 'message', exc)}") from None


# ------------------------------------------------------------------------------------ reading


def get(public_id: str) -> RenewalStatement:
    """A stored statement by its public id.

    :raises NotFound: when there is none.
    """
    found = db.session.scalar(
        select(RenewalStatement).where(RenewalStatement.public_id == public_id[:36])
    )
    if found is None:
        raise NotFound("There is no such renewal statement.")
    return found


def for_issuer(issuer: Issuer, limit: int = 20) -> list[RenewalStatement]:
    """The organisation's newest statements (all makers)."""
    return list(
        db.session.scalars(
            select(RenewalStatement)
            .where(RenewalStatement.issuer_id == issuer.id)
            .order_by(RenewalStatement.created_at.desc(), RenewalStatement.id.desc())
            .limit(limit)
        )
    )


def for_educator(educator: Educator, limit: int = 20) -> list[RenewalStatement]:
    """The statements made for the educator, newest first."""
    return list(
        db.session.scalars(
            select(RenewalStatement)
            .where(RenewalStatement.educator_id == educator.id)
            .order_by(RenewalStatement.created_at.desc(), RenewalStatement.id.desc())
            .limit(limit)
        )
    )


def _float(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def view(statement: RenewalStatement, env: ServiceEnv) -> StatementView:
    """The statement as it was made and signed."""
    document: dict[str, Any] = json.loads(statement.document)
    summary = statement.summary or {}
    lines = [
        StatementLine(
            credential_id=str(entry.get("credential", "")),
            name=str(entry.get("achievement", "")),
            awarded=str(entry.get("awarded", "")),
            credit=_float(entry["credit"]) if "credit" in entry else None,
            unit=entry.get("creditUnit"),
            hours=_float(entry.get("hours")),
            category=entry.get("category"),
        )
        for entry in summary.get("lines", [])
    ]
    categories = [
        CategoryTotal(str(c.get("name", "")), _float(c.get("minimum")), _float(c.get("hours")))
        for c in summary.get("categories", [])
    ]
    issuer = document.get("issuer") or {}
    required = summary.get("hoursRequired")
    return StatementView(
        statement=statement,
        document=document,
        url=statement_url(statement.public_id, env),
        holder=str(summary.get("holder", statement.holder_name)),
        issuer_name=str(issuer.get("name", "")),
        rule_name=summary.get("creditRules"),
        start=date.fromisoformat(summary.get("periodStart", statement.period_start.isoformat())),
        end=date.fromisoformat(summary.get("periodEnd", statement.period_end.isoformat())),
        lines=lines,
        categories=categories,
        uncategorised=sum(li.hours for li in lines if li.category is None),
        total=_float(summary.get("totalHours")),
        hours_required=_float(required) if required is not None else None,
    )


def document_text(statement: RenewalStatement) -> str:
    """The signed statement as JSON, indented for people and scripts alike."""
    return json.dumps(json.loads(statement.document), ensure_ascii=False, indent=2)
