"""How hard a key passphrase is to guess: refuse the ones a dictionary or pattern attack finds.

Length alone says little ("aaaaaaaaaaaaaaaa" and "password12345678" are 16 characters), so the
estimate comes from zxcvbn (Dropbox's estimator, the maintained Python port), which prices
repeats, sequences, keyboard walks, dates, common passwords and dictionary words. A passphrase
needs at least :data:`MIN_BITS` bits by that estimate: ``secrets.token_urlsafe(32)`` (43
characters, about 140 bits by the estimate) passes, and so do five or more uncommon words.
zxcvbn prices random characters conservatively (as if drawn from ten symbols), so random
strings need about 25 characters or more.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

#: The least estimated strength accepted, in bits (log2 of the guesses an attacker needs).
MIN_BITS = 80

# zxcvbn refuses longer input (its matching is quadratic). A prefix's estimate is a lower bound
# for the whole passphrase, so judging the first 72 characters errs on the safe side.
_ESTIMATED_LENGTH = 72

#: What to suggest instead.
SUGGESTION = "generate one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"


def estimated_bits(passphrase: str, user_inputs: Iterable[str] = ()) -> float:
    """The zxcvbn estimate of the passphrase's strength, in bits.

    :param passphrase: the passphrase.
    :param user_inputs: words an attacker would try first (the product's name, the host name).
    """
    # Imported here: loading its word lists takes ~60 ms, which only the checks should pay.
    from zxcvbn import zxcvbn

    prefix = passphrase[:_ESTIMATED_LENGTH]
    if not prefix:
        return 0.0
    result = zxcvbn(prefix, user_inputs=[word.lower() for word in user_inputs if word])
    return float(result["guesses_log10"]) * math.log2(10)


def passphrase_problem(
    passphrase: str, *, name: str = "the passphrase", user_inputs: Iterable[str] = ()
) -> str | None:
    """Why a key passphrase is too weak, or ``None`` when it is strong enough.

    :param passphrase: the passphrase.
    :param name: how to call it in the message (e.g. ``CAIRN_KEY_PASSPHRASE``).
    :param user_inputs: words an attacker would try first.
    :returns: a one-line message naming the estimate and how to make a good one, or ``None``.
    """
    bits = estimated_bits(passphrase, ["cairn", "badges", *user_inputs])
    if bits >= MIN_BITS:
        return None
    return (
        f"{name} is too easy to guess (about {bits:.0f} bits estimated, at least {MIN_BITS} "
        f"needed; repeats, sequences, keyboard walks and common words count for little); "
        f"{SUGGESTION}"
    )
