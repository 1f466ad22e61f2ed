"""``cairn keys …``: generate signing keys into files for the library-level commands, and
re-wrap key files (single files, or the instance's key store) in the current encrypted format."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import click

from app.cli.errors import UsageProblem
from keys import (
    DEFAULT_KDF,
    KEY_TYPES,
    CachingKeyStore,
    EncryptedFileStore,
    KeyStoreError,
    dump_key_file,
    generate_key,
    is_envelope,
    load_key_file,
    parse_envelope,
    passphrase_problem,
    public_key_summary,
    replace_file,
)


@click.group("keys")
def keys_group() -> None:
    """Generate signing keys, and re-wrap encrypted key files."""


@keys_group.command("generate")
@click.option(
    "--type",
    "key_type",
    type=click.Choice(sorted(KEY_TYPES)),
    default="ed25519",
    show_default=True,
    help="ed25519 for Data Integrity; p256 or rsa for VC-JWT.",
)
@click.option("--out", "out", required=True, help="File to write the private key to.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["pem", "multikey", "jwk"]),
    default="pem",
    show_default=True,
    help="pem: PKCS#8; multikey: W3C Multikey JSON (Ed25519); jwk: JWK JSON.",
)
@click.option(
    "--unencrypted",
    is_flag=True,
    help="Write the key in the clear (throwaway development keys only).",
)
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def generate_command(key_type: str, out: str, fmt: str, unencrypted: bool, force: bool) -> int:
    """Generate a key, write it to --out (mode 0600), and print its public half as JSON.

    PEM keys are encrypted with $CAIRN_KEY_PASSPHRASE (Cairn's format: Argon2id and
    AES-256-GCM), which must be hard to guess (80+ bits by the zxcvbn estimate); without it,
    --unencrypted is required. Multikey and JWK files are never encrypted, so they also need
    --unencrypted.
    """
    passphrase = os.environ.get("CAIRN_KEY_PASSPHRASE")
    if fmt == "multikey" and key_type != "ed25519":
        raise UsageProblem("the Multikey secret-key format is for Ed25519 keys; use pem or jwk")
    if fmt != "pem" and not unencrypted:
        raise UsageProblem(f"{fmt} key files are unencrypted; add --unencrypted to confirm")
    if fmt == "pem" and not passphrase and not unencrypted:
        raise UsageProblem("set CAIRN_KEY_PASSPHRASE to encrypt the key, or pass --unencrypted")
    if passphrase and not unencrypted:
        weak = passphrase_problem(passphrase, name="CAIRN_KEY_PASSPHRASE")
        if weak:
            raise UsageProblem(weak)
    key = generate_key(key_type)
    data = dump_key_file(key, None if unencrypted else (passphrase or "").encode(), fmt=fmt)  # type: ignore[arg-type]
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        descriptor = os.open(out, flags, 0o600)
    except FileExistsError:
        raise UsageProblem(f"{out} exists; pass --force to overwrite it") from None
    except OSError as exc:
        raise UsageProblem(f"cannot write {out}: {exc.strerror or exc}") from None
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    click.echo(json.dumps(public_key_summary(key), indent=2))
    return 0


@keys_group.command("rewrap")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
def rewrap_command(files: tuple[str, ...]) -> int:
    """Re-encrypt key files in the current format (Argon2id, AES-256-GCM), in place.

    With FILES: those key files (old encrypted PKCS#8 PEM, or older Cairn files), under
    $CAIRN_KEY_PASSPHRASE. Without: every key of the instance's key store ($CAIRN_KEYS_DIR),
    under the instance's passphrase. Files already current are left alone; each file is
    replaced atomically and stays mode 0600. Keys are also re-wrapped when first loaded.
    """
    if not files:
        return _rewrap_store()
    passphrase = os.environ.get("CAIRN_KEY_PASSPHRASE")
    if not passphrase:
        raise UsageProblem("set CAIRN_KEY_PASSPHRASE to the key files' passphrase")
    weak = passphrase_problem(passphrase, name="CAIRN_KEY_PASSPHRASE")
    if weak:
        raise UsageProblem(f"{weak} (re-encrypt the files under a strong one)")
    secret = passphrase.encode()
    loaded = []
    for name in files:  # every file decrypts before any is written
        path = Path(name)
        try:
            data = path.read_bytes()
            key = load_key_file(data, secret)
        except OSError as exc:
            raise UsageProblem(f"cannot read {name}: {exc.strerror or exc}") from None
        except KeyStoreError as exc:
            raise UsageProblem(f"{name}: {exc.message}") from None
        if not _is_current(data):
            loaded.append((path, key))
    for path, key in loaded:
        # Replace the file itself, never a file a symlink points at; keep it owner-only.
        if path.is_symlink():
            raise UsageProblem(f"{path} is a symbolic link; give the file itself")
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            click.echo(f"{path}: was readable by others (mode {mode:o}); now 0600", err=True)
        replace_file(path, dump_key_file(key, secret))
        click.echo(f"{path}: re-wrapped")
    click.echo(f"{len(loaded)} of {len(files)} key files re-wrapped")
    return 0


def _is_current(data: bytes) -> bool:
    if not is_envelope(data):
        return False
    try:
        return parse_envelope(data).kdf == DEFAULT_KDF
    except KeyStoreError:
        return False  # it loaded, so it is an envelope amid other text: write it clean


def _rewrap_store() -> int:
    from app.cli.operations import instance
    from app.wiring import keystore

    with instance():
        store = keystore()
        inner = store.inner if isinstance(store, CachingKeyStore) else store
        if not isinstance(inner, EncryptedFileStore):
            raise UsageProblem("this instance keeps no key files to re-wrap")
        try:
            count = inner.rewrap()
        except KeyStoreError as exc:
            raise UsageProblem(exc.message) from None
        click.echo(f"{count} key files re-wrapped in {inner.directory}")
    return 0
