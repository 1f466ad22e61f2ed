"""Suite-wide set-up: under pytest-xdist each worker gets a PostgreSQL database of its own.

Tests recreate the tables of ``CAIRN_TEST_DATABASE_URL`` for every test, so two workers on one
database would wipe each other's rows. Each worker (``gw0``, ``gw1``, …) therefore uses the
database named in the URL plus its worker id, created on first use by ``tests/app/conftest.py``;
the environment variable is rewritten before any test runs, so servers and CLI commands the
tests start inherit the same database.
"""

from __future__ import annotations

import os

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Give this xdist worker its own PostgreSQL test database (see the module docstring)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    url = os.environ.get("CAIRN_TEST_DATABASE_URL")
    if not worker or not url or not url.startswith("postgresql"):
        return
    from sqlalchemy.engine import make_url

    target = make_url(url)
    database = f"{target.database}_{worker}"
    os.environ["CAIRN_TEST_DATABASE_URL"] = target.set(database=database).render_as_string(
        hide_password=False
    )
