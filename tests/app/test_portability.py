"""`cairn export --issuer SLUG` and `cairn import FILE`: an organisation moved from one instance to another fresh one (two SQLite files, or two PostgreSQL databases when CAIRN_TEST_DATABASE_URL names a server) keeps every credential byte for byte and verifying (Cairn's verifier, and vc.js), its audit chain verifying, its status lists at the same URLs (revoking there flips the bit), its keys still encrypted; a damaged, altered, foreign or colliding archive is refused with exit 2 and nothing written; the archive is written and read a record at a time."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import secrets
import shutil
import tracemalloc
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.cli import main
from app.extensions import db
from app.models import (
    Achievement,
    AchievementVersion,
    AuditEvent,
    Educator,
    EducatorEmail,
    IssuedCredential,
    Issuer,
    IssuerKey,
    ManageLink,
    Membership,
    Module,
    Prompt,
    StaffAccount,
    StatusAllocation,
    WalletCopy,
)
from app.services.awarding import issuing, revocation
from app.services.awarding.issuing import AwardInput
from app.services.learning import authoring, educators
from app.services.org import achievements, issuers, staff
from app.services.org.achievements import AchievementInput
from app.services.org.audit import Actor
from app.services.org.issuers import IssuerProfileInput
from app.services.portability.archive import PARTS, ArchiveReader, ArchiveWriter
from app.services.wallets import copies
from app.wiring import service_env
from credentials import DocumentLoader, StatusList, verify_credential
from tests.app.guarantee_instance import (
    BASE_URL,
    Instance,
    app_fetcher,
    preserved_logging,
    scratch_database,
)
from tests.interop.conftest import NODE_DIR, VcJs

SLUG = "district-7"
ACTOR = Actor(label="test")
PASSWORD = "correct horse battery staple"
HOLDER_DID = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"


@dataclass
class Cli:
    """Runs `cairn` in-process as one instance's operator would (its CAIRN_* variables only)."""

    root: Path

    def __call__(self, instance: Instance, *argv: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        with pytest.MonkeyPatch.context() as patch:
            for name in [n for n in os.environ if n.startswith("CAIRN_")]:
                patch.delenv(name)
            for name, value in instance.settings.items():
                patch.setenv(name, value)
            patch.setattr(Flask, "auto_find_instance_path", lambda self: str(instance.root))
            with (
                preserved_logging(),
                contextlib.redirect_stdout(out),
                contextlib.redirect_stderr(err),
            ):
                status = main(list(argv))
        return status, out.getvalue(), err.getvalue()

    def ok(self, instance: Instance, *argv: str) -> str:
        status, out, err = self(instance, *argv)
        assert status == 0, (argv, err)
        return out


@dataclass
class Moved:
    """The organisation on its old instance, its archive, and the new instance it went to."""

    cli: Cli
    source: Instance
    target: Instance
    archive: Path
    passphrase: str
    revoked_id: str
    live_ids: list[str]


def instance(root: Path, url: str, passphrase: str) -> Instance:
    root.mkdir(parents=True, exist_ok=True)
    return Instance(
        root,
        url,
        extra={
            "CAIRN_JOBS_INLINE": "true",
            "CAIRN_KEY_KDF_FOR_TESTS": "true",
            "CAIRN_KEY_PASSPHRASE": passphrase,
        },
    )


@contextlib.contextmanager
def app_context(target: Instance) -> Iterator[Flask]:
    application = target.app()
    with application.app_context():
        try:
            yield application
        finally:
            db.session.remove()
            db.engine.dispose()


def populate(source: Instance) -> tuple[str, list[str]]:
    """An organisation with history: two achievement versions, a rotated key (credentials
    signed by the retired one and the new one), a revocation, an educator holding one
    credential, a wallet copy."""
    with app_context(source):
        env = service_env()
        owner = staff.create_account(
            email="owner@district7.example.org", name="Pat Owner", password=PASSWORD,
            is_admin=False, actor=ACTOR, env=env,
        )  # fmt: skip
        issuer = issuers.create_issuer(
            IssuerProfileInput(name="District 7 PL", url="https://district7.example.org"),
            slug=SLUG, owner=owner, actor=ACTOR, env=env,
        )  # fmt: skip
        achievement = achievements.create_achievement(
            issuer,
            AchievementInput(name="Formative Assessment", description="Done.",
                             criteria_markdown="Complete **every** activity."),
            actor=Actor(owner), env=env,
        )  # fmt: skip
        ids = []
        for number in range(3):
            credential = issuing.award(
                issuer, achievement,
                AwardInput(email=f"teacher{number}@school.example.org", name=f"Teacher {number}"),
                actor=Actor(owner), env=service_env(),
            )  # fmt: skip
            ids.append(credential.id)
        achievements.update_achievement(
            achievement,
            AchievementInput(name="Formative Assessment", description="Done, version 2.",
                             criteria_markdown="Complete **every** activity."),
            actor=Actor(owner), env=service_env(),
        )  # fmt: skip
        module = authoring.create_module(
            issuer,
            authoring.ModuleInput(title="Feedback that moves learning", summary="Four weeks.",
                                  achievement_public_id=achievement.public_id),
            actor=Actor(owner), env=service_env(),
        )  # fmt: skip
        activity = authoring.add_activity(
            module, authoring.ActivityInput(title="Read", directions="Read the *article*."),
            actor=Actor(owner), env=service_env(),
        )  # fmt: skip
        authoring.add_prompt(activity, "What will you try?", actor=Actor(owner), env=service_env())
        issuers.rotate_key(issuer, "ed25519", actor=Actor(owner), env=service_env())
        later = issuing.award(
            issuer, achievement, AwardInput(email="teacher3@school.example.org", name="Teacher 3"),
            actor=Actor(owner), env=service_env(),
        )  # fmt: skip
        ids.append(later.id)
        first = db.session.get(IssuedCredential, ids[0])
        assert first is not None
        revocation.revoke(first, "Issued in error", actor=Actor(owner), env=service_env())
        educators.create("teacher1@school.example.org", "Teacher One", service_env(), verified=True)
        db.session.commit()
        second = db.session.get(IssuedCredential, ids[1])
        assert second is not None
        copies.issue_copy(
            second, HOLDER_DID, protocol="vcapi", proof_format="di", actor=ACTOR,
            env=service_env(),
        )  # fmt: skip
        db.session.commit()
        return ids[0], ids[1:]


@pytest.fixture(scope="module")
def moved(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Moved]:
    root = tmp_path_factory.mktemp("portability")
    passphrase = secrets.token_urlsafe(24)
    (root / "a").mkdir()
    (root / "b").mkdir()
    with (
        scratch_database(root / "a", "cairn_export_a") as source_url,
        scratch_database(root / "b", "cairn_export_b") as target_url,
    ):
        source = instance(root / "a", source_url, passphrase)
        target = instance(root / "b", target_url, passphrase)
        cli = Cli(root)
        cli.ok(source, "db", "upgrade")
        cli.ok(target, "db", "upgrade")
        revoked_id, live_ids = populate(source)
        archive = root / "district-7.zip"
        out = cli.ok(source, "export", "--issuer", SLUG, "--output", str(archive))
        digest = hashlib.sha256(archive.read_bytes()).hexdigest()
        assert out.splitlines() == [str(archive), f"sha256 {digest}"]
        cli.ok(target, "import", str(archive), "--sha256", digest)
        yield Moved(cli, source, target, archive, passphrase, revoked_id, live_ids)


def counts(target: Instance) -> dict[str, int]:
    """How many rows of each kind the organisation has on an instance."""
    with app_context(target):
        issuer_id = db.session.scalar(select(Issuer.id).where(Issuer.slug == SLUG))

        def count(model: Any, *where: Any) -> int:
            return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0

        ours = select(IssuedCredential.id).where(IssuedCredential.issuer_id == issuer_id)
        return {
            "credentials": count(IssuedCredential, IssuedCredential.issuer_id == issuer_id),
            "achievements": count(Achievement, Achievement.issuer_id == issuer_id),
            "versions": count(
                AchievementVersion,
                AchievementVersion.achievement_id.in_(
                    select(Achievement.id).where(Achievement.issuer_id == issuer_id)
                ),
            ),
            "keys": count(IssuerKey, IssuerKey.issuer_id == issuer_id),
            "allocations": count(StatusAllocation, StatusAllocation.issuer_id == issuer_id),
            "audit": count(AuditEvent, AuditEvent.issuer_id == issuer_id),
            "members": count(Membership, Membership.issuer_id == issuer_id),
            "manage_links": count(ManageLink, ManageLink.credential_id.in_(ours)),
            "wallet_copies": count(WalletCopy, WalletCopy.credential_id.in_(ours)),
            "modules": count(Module, Module.issuer_id == issuer_id),
            "prompts": count(Prompt),
        }


def served(target: Instance, path: str) -> Any:
    """What an instance answers for ``path`` (its engine closed afterwards)."""
    with app_context(target) as application:
        return application.test_client().get(path, base_url=BASE_URL)


def documents(target: Instance) -> dict[str, str]:
    with app_context(target):
        rows = db.session.execute(select(IssuedCredential.id, IssuedCredential.document))
        return {credential_id: document for credential_id, document in rows}


def test_everything_arrives_counted_and_byte_for_byte(moved: Moved) -> None:
    before, after = counts(moved.source), counts(moved.target)
    assert before["credentials"] == 4 and before["manage_links"] == 4
    assert before["wallet_copies"] == 1 and before["keys"] == 3 and before["versions"] == 2
    assert before["modules"] == 1 and before["prompts"] == 1
    # The old chain ends with the export (after the archive's head), the new one with the
    # import: as many events each.
    assert after == before
    assert documents(moved.target) == documents(moved.source)
    for purpose in ("revocation", "suspension"):
        old = served(moved.source, f"/status/{SLUG}/{purpose}")
        new = served(moved.target, f"/status/{SLUG}/{purpose}")
        assert new.status_code == 200 and new.data == old.data
        assert new.headers["ETag"] == old.headers["ETag"]
    did = f"/issuers/{SLUG}/did.json"
    assert served(moved.target, did).data == served(moved.source, did).data


def test_keys_arrive_still_encrypted_as_they_were(moved: Moved) -> None:
    source_files = sorted((moved.source.root / "keys").glob("issuer-*/*.pem"))
    target_files = sorted((moved.target.root / "keys").glob("issuer-*/*.pem"))
    assert len(source_files) == len(target_files) == 3
    assert {p.read_bytes() for p in source_files} == {p.read_bytes() for p in target_files}
    for path in target_files:
        assert path.read_bytes().startswith(b"-----BEGIN CAIRN ENCRYPTED PRIVATE KEY-----")
    with zipfile.ZipFile(moved.archive) as archive:
        carried = archive.read("keys.jsonl")
    assert b"PRIVATE KEY-----\\n" in carried and b"BEGIN PRIVATE KEY" not in carried


def test_people_arrive_merged_by_address(moved: Moved) -> None:
    with app_context(moved.target):
        owner = db.session.scalar(
            select(StaffAccount).where(StaffAccount.email == "owner@district7.example.org")
        )
        assert owner is not None and owner.password_hash and not owner.is_admin
        membership = db.session.scalar(select(Membership).where(Membership.staff_id == owner.id))
        assert membership is not None and membership.role == "owner"
        address = db.session.scalar(
            select(EducatorEmail).where(EducatorEmail.email == "teacher1@school.example.org")
        )
        assert address is not None and address.verified_at is not None
        educator = db.session.get(Educator, address.educator_id)
        assert educator is not None
        assert [c.id for c in educators.credentials_of(educator)] == [moved.live_ids[0]]


def test_every_credential_verifies_on_the_new_instance(moved: Moved) -> None:
    stored = documents(moved.target)
    with app_context(moved.target) as application:
        now = service_env().now + timedelta(seconds=1)
        fetch = app_fetcher(application)
        reports = {
            credential_id: verify_credential(
                document, loader=DocumentLoader(), now=now, fetch=fetch
            )
            for credential_id, document in stored.items()
        }
    for credential_id, report in reports.items():
        if credential_id == moved.revoked_id:
            assert report.check("status").status == "fail", report.as_json()
            assert report.check("proof").status == "pass"
        else:
            assert report.valid, report.as_json()
            for check in ("proof", "issuer_key", "schema", "status"):
                assert report.check(check).status == "pass", (check, report.as_json())


def test_one_credential_verifies_with_vcjs(moved: Moved) -> None:
    node = shutil.which("node")
    if node is None or not (NODE_DIR / "node_modules").is_dir():
        pytest.skip("vc.js interop: node or tests/interop/node/node_modules is missing")
    did_document = json.loads(served(moved.target, f"/issuers/{SLUG}/did.json").data)
    for credential_id in (moved.live_ids[0], moved.live_ids[-1]):  # old key, rotated key
        credential = json.loads(documents(moved.target)[credential_id])
        assert VcJs(node).verify(credential, {did_document["id"]: did_document}) == (True, None)


def test_the_audit_chain_verifies_after_import(moved: Moved) -> None:
    out = moved.cli.ok(moved.target, "audit", "verify", "--issuer", SLUG)
    events = counts(moved.source)["audit"]
    assert out.strip() == f"{SLUG}: {events} events, chain intact"
    with app_context(moved.target):
        last = db.session.scalar(
            select(AuditEvent)
            .where(AuditEvent.action == "issuer.import")
            .order_by(AuditEvent.id.desc())
        )
        assert last is not None and last.chain_seq == events
        assert (
            last.detail["archive_sha256"] == hashlib.sha256(moved.archive.read_bytes()).hexdigest()
        )
        assert last.detail["previous_chain_head"]["seq"] == events - 1
        exported = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "issuer.export"))
        assert exported is None  # the export's own event is not in the archive
    with app_context(moved.source):
        exported = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "issuer.export"))
        assert exported is not None and exported.chain_seq == events
        assert exported.detail["archive_sha256"] == last.detail["archive_sha256"]


def archive_with(source: Path, target: Path, change: Any, *, fix_checksums: bool) -> Path:
    """A copy of an archive with ``change(name, bytes) -> bytes`` applied to each part (and the
    manifest's checksums recomputed when ``fix_checksums``)."""
    with zipfile.ZipFile(source) as old:
        manifest = json.loads(old.read("manifest.json"))
        parts = {name: change(name, old.read(name)) for name in PARTS}
    if fix_checksums:
        for name, data in parts.items():
            manifest["parts"][name].update(
                sha256=hashlib.sha256(data).hexdigest(), bytes=len(data), records=data.count(b"\n")
            )
    manifest = change("manifest.json", manifest)
    with zipfile.ZipFile(target, "w") as new:
        for name, data in parts.items():
            new.writestr(name, data)
        new.writestr("manifest.json", json.dumps(manifest))
    return target


def renamed(name: str, data: Any) -> Any:
    """The organisation under another slug (its public ids unchanged)."""
    if name == "manifest.json":
        return {**data, "issuer": "district-8"}
    if name == "issuer.jsonl":
        return data.replace(b'"slug":"district-7"', b'"slug":"district-8"')
    return data


def test_refusals_exit_2_and_write_nothing(moved: Moved, tmp_path: Path) -> None:
    before = counts(moved.target), documents(moved.target)
    keys_before = sorted((moved.target.root / "keys").rglob("*"))

    def refused(archive: Path, *extra: str) -> str:
        status, _out, err = moved.cli(moved.target, "import", str(archive), *extra)
        assert status == 2, err
        assert (counts(moved.target), documents(moved.target)) == before
        assert sorted((moved.target.root / "keys").rglob("*")) == keys_before
        return err

    # The same organisation again: its slug is taken.
    assert "exists on this instance already" in refused(moved.archive)
    # Another slug, but the same credentials and achievements: public ids collide.
    other = archive_with(moved.archive, tmp_path / "renamed.zip", renamed, fix_checksums=True)
    assert "exists on this instance already" in refused(other)
    # A credential altered inside the archive: its part no longer matches its checksum.
    tampered = archive_with(
        moved.archive,
        tmp_path / "tampered.zip",
        lambda name, data: (
            data.replace(b"Teacher 2", b"Teacher X") if name == "credentials.jsonl" else data
        ),
        fix_checksums=False,
    )
    assert "does not match its SHA-256" in refused(tampered)
    # An unknown format version.
    future = archive_with(
        moved.archive,
        tmp_path / "future.zip",
        lambda name, data: {**data, "version": 99} if name == "manifest.json" else data,
        fix_checksums=False,
    )
    assert "version 99" in refused(future)
    # Not an archive at all; the wrong expected checksum.
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip")
    assert "not a Cairn export archive" in refused(junk)
    assert "SHA-256" in refused(moved.archive, "--sha256", "0" * 64)


def test_refused_where_the_keys_do_not_open_or_the_origin_differs(
    moved: Moved, tmp_path: Path
) -> None:
    """A fresh instance with another key passphrase, or another public origin, refuses the
    archive whole: its database stays empty and no key file is written."""
    with scratch_database(tmp_path, "cairn_export_c") as url:
        other = instance(tmp_path / "c", url, secrets.token_urlsafe(24))
        moved.cli.ok(other, "db", "upgrade")
        status, _out, err = moved.cli(other, "import", str(moved.archive))
        assert status == 2 and "CAIRN_KEY_PASSPHRASE" in err, err
        elsewhere = instance(tmp_path / "d", url, moved.passphrase)
        elsewhere.settings["CAIRN_BASE_URL"] = "https://badges.other.example.org"
        status, _out, err = moved.cli(elsewhere, "import", str(moved.archive))
        assert status == 2 and "CAIRN_BASE_URL" in err, err
        assert counts(other)["credentials"] == 0
        with app_context(other):
            assert db.session.scalar(select(func.count()).select_from(Issuer)) == 0
        assert not list((tmp_path / "c" / "keys").glob("issuer-*/*.pem"))


def test_revoking_on_the_new_instance_flips_the_bit_at_the_same_url(moved: Moved) -> None:
    credential_id = moved.live_ids[1]
    credential = json.loads(documents(moved.target)[credential_id])
    entry = credential["credentialStatus"]
    assert entry["statusListCredential"] == f"{BASE_URL}/status/{SLUG}/revocation"
    index = int(entry["statusListIndex"])
    moved.cli.ok(moved.target, "revoke", credential_id, "--reason", "Moved and revoked")
    listed = json.loads(served(moved.target, f"/status/{SLUG}/revocation").data)
    bits = StatusList.decode(listed["credentialSubject"]["encodedList"])
    assert bits.get(index)
    document = documents(moved.target)[credential_id]
    with app_context(moved.target) as application:
        now = service_env().now + timedelta(seconds=1)
        report = verify_credential(
            document, loader=DocumentLoader(), now=now, fetch=app_fetcher(application)
        )
    # The list was signed again on the new instance with the imported (still encrypted) key.
    assert report.check("proof").status == "pass"
    assert report.check("status").status == "fail", report.as_json()
    moved.cli.ok(moved.target, "audit", "verify", "--issuer", SLUG)


# --- memory stays flat: the archive is written and read a record at a time ---------------------


def test_parts_stream_to_disk_and_back(tmp_path: Path) -> None:
    """Writing: the compressed part reaches the file while records are still being written.
    Reading: going through a part holds one record at a time, far less than the part."""
    path = tmp_path / "big.zip"
    writer = ArchiveWriter(path)
    partial = path.with_name(f".{path.name}.partial")
    grew_while_writing = False
    for name in PARTS:
        with writer.part(name) as part:
            if name == "credentials.jsonl":
                for number in range(20_000):
                    part.write({"n": number, "document": secrets.token_hex(64)})
                grew_while_writing = partial.stat().st_size > 1_000_000
    writer.finish({"base_url": BASE_URL, "issuer": "x"})
    assert grew_while_writing
    size = json.loads(zipfile.ZipFile(path).read("manifest.json"))["parts"]["credentials.jsonl"]
    assert size["records"] == 20_000 and size["bytes"] > 2_500_000

    reader = ArchiveReader(path)
    reader.verify()
    tracemalloc.start()
    try:
        seen = sum(1 for _ in reader.records("credentials.jsonl"))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        reader.close()
    assert seen == 20_000
    assert peak < size["bytes"] / 5, peak


def test_onto_an_existing_instance_ids_are_given_anew_and_people_merged(
    moved: Moved, tmp_path: Path
) -> None:
    """An instance with an organisation of its own, the owner's account (another password) and
    the educator (their address confirmed): the import re-keys every local id, merges both
    people, and still verifies everywhere."""
    with scratch_database(tmp_path, "cairn_export_e") as url:
        existing = instance(tmp_path / "e", url, moved.passphrase)
        moved.cli.ok(existing, "db", "upgrade")
        with app_context(existing):
            env = service_env()
            account = staff.create_account(
                email="owner@district7.example.org", name="Pat (here)",
                password="another long passphrase here", is_admin=False, actor=ACTOR, env=env,
            )  # fmt: skip
            issuers.create_issuer(
                IssuerProfileInput(name="Elsewhere"), slug="elsewhere", owner=account,
                actor=ACTOR, env=env,
            )  # fmt: skip
            educators.create("teacher1@school.example.org", "T. One", env, verified=True)
            db.session.commit()
            account_id, password_hash = account.id, account.password_hash
        out = moved.cli.ok(existing, "import", str(moved.archive))
        assert "1 educator(s) merged" in out
        assert moved.cli.ok(existing, "audit", "verify").count("chain intact") == 3
        assert documents(moved.source).items() <= documents(existing).items()
        with app_context(existing) as application:
            issuer = issuers.get_by_slug(SLUG)
            assert issuer.id == 2
            assert (tmp_path / "e" / "keys" / "issuer-2").is_dir()
            owner = db.session.get(StaffAccount, account_id)
            assert owner is not None and owner.password_hash == password_hash
            assert {m.issuer_id for m in owner.memberships} == {1, 2}
            assert db.session.scalar(select(func.count()).select_from(Educator)) == 1
            now = service_env().now + timedelta(seconds=1)
            fetch = app_fetcher(application)
            rows = db.session.execute(
                select(IssuedCredential.id, IssuedCredential.document).where(
                    IssuedCredential.issuer_id == issuer.id
                )
            )
            for credential_id, document in rows:
                report = verify_credential(document, loader=DocumentLoader(), now=now, fetch=fetch)
                assert report.check("proof").status == "pass", credential_id
                assert report.valid == (credential_id != moved.revoked_id), report.as_json()


def test_export_refuses_an_unknown_organisation_or_an_existing_file(
    moved: Moved, tmp_path: Path
) -> None:
    status, _out, err = moved.cli(moved.source, "export", "--issuer", "nobody")
    assert status == 2 and "nobody" in err
    taken = tmp_path / "taken.zip"
    taken.write_bytes(b"keep me")
    status, _out, err = moved.cli(moved.source, "export", "--issuer", SLUG, "--output", str(taken))
    assert status == 2 and "exists already" in err
    assert taken.read_bytes() == b"keep me"
    assert not list(tmp_path.glob(".*.partial"))
