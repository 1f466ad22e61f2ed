"""Every benchmark under bench/ still starts: its options parse and its module-level set-up runs (a merge once left one unable to start)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
SCRIPTS = sorted(p.name for p in BENCH.glob("*.py") if not p.name.startswith("_"))
#: Modules that serving.py hands to gunicorn rather than run.
NOT_COMMANDS = {
    "bare_flask.py": "a WSGI module served by gunicorn, not a command",
    "bare_gunicorn.py": "a gunicorn configuration file (-c), not a command",
}


def test_every_script_is_listed() -> None:
    assert {"signing.py", "verifier.py", "bulk.py", "serving.py", "scale.py"} <= set(SCRIPTS)


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_benchmark_starts(script: str) -> None:
    if script in NOT_COMMANDS:
        pytest.skip(NOT_COMMANDS[script])
    done = subprocess.run(
        [sys.executable, str(BENCH / script), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=BENCH.parent,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "usage:" in done.stdout


def test_the_bare_servers_configuration_loads() -> None:
    """What gunicorn reads from ``bare_gunicorn.py``: the worker class ``cairn serve`` runs."""
    done = subprocess.run(
        [sys.executable, "-c", "import runpy; c = runpy.run_path('bench/bare_gunicorn.py'); "
         "print(c['worker_class'].__mro__[1].__name__, c['workers'])"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=BENCH.parent,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["BalancedThreadWorker", "2"]
