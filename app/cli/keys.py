"""``cairn keys …``: generate signing keys into files for the library-level commands."""

from __future__ import annotations

import json
import os

import click

from app.cli.errors import UsageProblem
from keys import KEY_TYPES, generate_key
from keys.keyfile import dump_key_file, public_key_summary


@click.group("keys")
def keys_group() -> None:
    """Generate and inspect signing keys."""


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

    PEM keys are encrypted with $CAIRN_KEY_PASSPHRASE; without it, --unencrypted is required.
    Multikey and JWK files are never encrypted, so they also need --unencrypted.
    """
    passphrase = os.environ.get("CAIRN_KEY_PASSPHRASE")
    if fmt == "multikey" and key_type != "ed25519":
        raise UsageProblem("the Multikey secret-key format is for Ed25519 keys; use pem or jwk")
    if fmt != "pem" and not unencrypted:
        raise UsageProblem(f"{fmt} key files are unencrypted; add --unencrypted to confirm")
    if fmt == "pem" and not passphrase and not unencrypted:
        raise UsageProblem("set CAIRN_KEY_PASSPHRASE to encrypt the key, or pass --unencrypted")
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
