"""Key passphrases are judged by estimated guessing cost, not length."""

from __future__ import annotations

import secrets

import pytest

from keys.passphrase import MIN_BITS, estimated_bits, passphrase_problem


@pytest.mark.parametrize(
    "weak",
    [
        "aaaaaaaaaaaaaaaa",  # a repeat, 16 characters
        "password12345678",  # a common password and a sequence
        "qwertyuiopasdfgh",  # a keyboard walk
        "1qaz2wsx3edc4rfv",  # a vertical keyboard walk
        "correct horse battery staple",  # famous, and only four words
        "Tr0ub4dor&3Tr0ub4dor&3",  # l33t and a repeat
        "cairn-badges-passphrase-2026",  # the product's own words and a year
        # random, but short (a fixed id: xdist workers must collect the same test names)
        pytest.param(secrets.token_urlsafe(12), id="token_urlsafe(12)"),
        "",
    ],
)
def test_guessable_passphrases_are_refused_with_a_clear_message(weak: str) -> None:
    problem = passphrase_problem(weak, name="CAIRN_KEY_PASSPHRASE")
    assert problem is not None
    assert problem.startswith("CAIRN_KEY_PASSPHRASE is too easy to guess")
    assert f"at least {MIN_BITS} needed" in problem and "token_urlsafe(32)" in problem


@pytest.mark.parametrize(
    "strong",
    [
        # what development and the docs generate
        pytest.param(secrets.token_urlsafe(32), id="token_urlsafe(32)"),
        pytest.param(secrets.token_hex(32), id="token_hex(32)"),
        "a long test passphrase, not a real one",
        "vermilion quokka estuary lantern obsidian fjord",
    ],
)
def test_strong_passphrases_pass(strong: str) -> None:
    assert passphrase_problem(strong) is None
    assert estimated_bits(strong) >= MIN_BITS


def test_threshold_and_long_input() -> None:
    assert MIN_BITS == 80
    # Very long passphrases are judged on a prefix (zxcvbn refuses more), never an error.
    assert passphrase_problem(secrets.token_urlsafe(200)) is None
    assert passphrase_problem("a" * 500) is not None
