"""Key passphrases and key files at the edges: configuration refuses guessable passphrases,
`cairn keys generate` too, and `cairn keys rewrap` converts old PBKDF2 key files."""

from __future__ import annotations

import json
import secrets
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from app import create_app
from app.cli import main
from app.config import ConfigError
from keys import DEFAULT_KDF, is_envelope, load_key_file, parse_envelope
from tests.keys.test_signing_key import FIXTURES, fixture_key

STRONG = secrets.token_urlsafe(32)


def production(**overrides: Any) -> dict[str, Any]:
    return {
        "ENV": "production",
        "BASE_URL": "https://badges.example.org",
        "SECRET_KEY": secrets.token_urlsafe(32),
        "KEY_PASSPHRASE": STRONG,
        "SMTP_HOST": "smtp.example.org",
        "MAIL_FROM": "Cairn <badges@example.org>",
        "DATABASE_URL": "sqlite://",
        "KEYS_DIR": "/nonexistent/keys",
        **overrides,
    }


@pytest.mark.parametrize(
    "weak", ["aaaaaaaaaaaaaaaa", "password12345678", "qwertyuiopasdfghjkl;", "badges.example.org!1"]
)
def test_production_refuses_a_guessable_key_passphrase(weak: str) -> None:
    with pytest.raises(ConfigError, match="CAIRN_KEY_PASSPHRASE is too easy to guess"):
        create_app(production(KEY_PASSPHRASE=weak))


def test_production_refuses_a_missing_key_passphrase() -> None:
    with pytest.raises(ConfigError, match="CAIRN_KEY_PASSPHRASE is not set"):
        create_app(production(KEY_PASSPHRASE=""))


def test_production_accepts_a_generated_passphrase() -> None:
    assert create_app(production()).config["KEY_PASSPHRASE"] == STRONG


def test_development_refuses_a_weak_passphrase_set_by_hand(tmp_path: Path) -> None:
    settings = {"ENV": "development", "DATABASE_URL": "sqlite://", "KEYS_DIR": str(tmp_path)}
    with pytest.raises(ConfigError, match="too easy to guess"):
        create_app({**settings, "KEY_PASSPHRASE": "password12345678", "SECRET_KEY": "x" * 40})


def test_cheap_test_kdf_is_refused_outside_testing() -> None:
    with pytest.raises(ConfigError, match="CAIRN_KEY_KDF_FOR_TESTS"):
        create_app(production(KEY_KDF_FOR_TESTS=True))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_generate_refuses_a_guessable_passphrase(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAIRN_KEY_PASSPHRASE", "password12345678")
    status, _, err = run(capsys, "keys", "generate", "--out", str(tmp_path / "k.pem"))
    assert status == 2 and "too easy to guess" in err
    assert not (tmp_path / "k.pem").exists()


def test_rewrap_files_converts_old_pbkdf2_files_in_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAIRN_KEY_PASSPHRASE", STRONG)
    key = fixture_key("p256")
    old = tmp_path / "old.pem"
    old.write_bytes(
        key.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(STRONG.encode()),
        )
    )
    old.chmod(0o640)
    current = tmp_path / "current.pem"
    assert run(capsys, "keys", "generate", "--out", str(current))[0] == 0
    before = current.read_bytes()

    status, out, err = run(capsys, "keys", "rewrap", str(old), str(current))

    assert status == 0, err
    assert "1 of 2 key files re-wrapped" in out and "readable by others" in err
    assert parse_envelope(old.read_bytes()).kdf == DEFAULT_KDF
    assert stat.S_IMODE(old.stat().st_mode) == 0o600
    reloaded = load_key_file(old.read_bytes(), STRONG.encode())
    assert reloaded.public_key().public_numbers() == key.public_key().public_numbers()  # type: ignore[union-attr]
    assert current.read_bytes() == before  # already current: untouched


def test_rewrap_files_with_a_wrong_passphrase_changes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CAIRN_KEY_PASSPHRASE", STRONG)
    old = tmp_path / "old.pem"
    shutil.copyfile(FIXTURES / "test-ed25519-encrypted.pem", old)
    before = old.read_bytes()
    status, _, err = run(capsys, "keys", "rewrap", str(old))
    assert status == 2 and "wrong passphrase" in err and old.read_bytes() == before


def test_rewrap_the_instance_key_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    keys_dir = tmp_path / "keys"
    owner = keys_dir / "issuer-1"
    owner.mkdir(parents=True)
    pem = owner / "old-key.pem"
    shutil.copyfile(FIXTURES / "test-ed25519-encrypted.pem", pem)  # passphrase test-passphrase
    meta = {"format": 1, "kid": "old-key", "key_type": "ed25519", "algorithm": "EdDSA",
            "created": "2025-01-01T00:00:00+00:00", "retired": None}  # fmt: skip
    (owner / "old-key.json").write_text(json.dumps(meta))
    for name, value in {
        "CAIRN_ENV": "testing",
        "CAIRN_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "CAIRN_KEYS_DIR": str(keys_dir),
        "CAIRN_KEY_PASSPHRASE": "test-passphrase",
        "CAIRN_BASE_URL": "https://badges.example.org",
    }.items():
        monkeypatch.setenv(name, value)
    status, out, err = run(capsys, "keys", "rewrap")
    assert status == 0, err
    assert "1 key files re-wrapped" in out
    assert is_envelope(pem.read_bytes())
    assert run(capsys, "keys", "rewrap")[1].startswith("0 key files re-wrapped")
