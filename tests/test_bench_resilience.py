"""bench/resilience.py's checks catch what they claim to: duplicates, shared status entries, counters that disagree with what is stored, missing mail and audit events."""

from __future__ import annotations

import json
import random
from dataclasses import replace

from bench.resilience import (
    MAX_KILL_DELAY,
    Stored,
    check_stored,
    check_verified,
    chunk_seconds,
    kill_points,
)

LIST = "https://badges.example.org/status/1/1"
EMAILS = {f"r{i:06d}@school.example.org" for i in range(3)}


def credential(n: int, email: str, index: int, document_index: int | None = None) -> tuple:
    status = {"statusListCredential": LIST, "statusListIndex": str(document_index or index)}
    return (f"c{n}", email, index, json.dumps({"credentialStatus": status}))


def good() -> Stored:
    credentials = [credential(n, e, 10 + n) for n, e in enumerate(sorted(EMAILS))]
    ids = [c[0] for c in credentials]
    job = {"state": "done", "total_rows": 3, "valid_rows": 3, "issued_rows": 3,
           "skipped_rows": 0, "failed_rows": 0}  # fmt: skip
    return Stored(job, credentials, {"issued": 3}, list(ids),
                  [(c[0], c[1]) for c in credentials], list(ids))  # fmt: skip


def failed(stored: Stored) -> set[str]:
    return {r.name.split(" (")[0] for r in check_stored(stored, 3, EMAILS) if not r.ok}


def test_a_complete_job_passes_every_check() -> None:
    results = check_stored(good(), 3, EMAILS)
    assert len(results) == 6 and all(r.ok for r in results), results


def test_each_kind_of_loss_or_duplicate_fails_its_check() -> None:
    stored = good()
    a, b, c = stored.credentials
    twice = credential(3, a[1], 13)
    duplicated = replace(stored, credentials=[a, b, twice])
    assert failed(duplicated) >= {"each recipient exactly once"}
    shared = replace(stored, credentials=[a, b, credential(2, c[1], 11)])
    assert "distinct status entries" in failed(shared)
    # The document's index must be the one the database allocated.
    assert "distinct status entries" in failed(
        replace(stored, credentials=[a, b, credential(2, c[1], 12, document_index=99)])
    )
    lost = replace(stored, credentials=[a, b])
    assert failed(lost) >= {"exactly 3 credentials for the job", "each recipient exactly once"}
    assert "the job's counters equal what is stored" in failed(
        replace(stored, job={**stored.job, "issued_rows": 2})
    )
    assert "the job's counters equal what is stored" in failed(
        replace(stored, row_credentials=["c0", "c1", None])
    )
    assert failed(replace(stored, award_emails=stored.award_emails[:2])) == {
        "one award email queued per credential"
    }
    assert failed(replace(stored, issue_events=[*stored.issue_events, "c0"])) == {
        "one 'credential.issue' audit event per credential"
    }


def test_verification_fails_on_any_failure_or_nothing_checked() -> None:
    assert check_verified([], 3, 0.1).ok
    assert not check_verified([("c1", "invalid (proof)")], 3, 0.1).ok
    assert not check_verified([], 0, 0.0).ok


def test_kill_points_are_distinct_ordered_and_leave_room_at_the_end() -> None:
    points = kill_points(random.Random(1), 10_000, 5)  # noqa: S311
    assert points == sorted(set(points)) and len(points) == 5
    assert points[0] >= 1 and points[-1] < 9_000
    assert kill_points(random.Random(1), 10_000, 5) == points  # noqa: S311 (the seed reproduces them)


def test_a_kill_waits_within_a_chunk_at_the_pace_the_job_moves() -> None:
    assert chunk_seconds([], 2) == MAX_KILL_DELAY  # nothing seen yet: the longest wait
    # 1,000 rows a second while moving, with a 4-second pause after a kill in between: the
    # pause does not slow the pace, so a chunk of 100 rows by one of 2 workers takes 0.2 s.
    looks = [(0.1 * n, 100 * n) for n in range(10)]
    looks += [(0.9 + 0.1 * n, 900) for n in range(1, 40)]
    looks += [(4.9 + 0.1 * n, 900 + 100 * n) for n in range(1, 10)]
    assert abs(chunk_seconds(looks, 2) - 0.2) < 1e-9
    slow = [(0.4 * n, n) for n in range(5)]  # 2.5 rows a second: a chunk would take 80 s
    assert chunk_seconds(slow, 2) == MAX_KILL_DELAY
