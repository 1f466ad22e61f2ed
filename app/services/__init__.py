"""Use cases: the one write path that the web UI (``app.workspace``, ``app.educator``,
``app.public``, ``app.auth``), the ``cairn`` command line, background jobs and
``POST /api/verify`` call, and that every HTTP API added later must call.

The services are grouped in domain packages, each importing only the ones below it (an
import-linter contract in ``pyproject.toml`` keeps the order; ``docs/ARCHITECTURE.md`` draws it):
``learning`` → ``delivery`` | ``verification`` → ``awarding`` → ``org`` → ``mail`` → ``_core``.
A domain reacts to one above it through events (``_core/events.py``), connected in
``subscriptions.py``.

Services take plain arguments and a :class:`~app.services._core.env.ServiceEnv` (key store,
loader, clock, mail transport, job runner, frozen settings) and return models; they never touch
Flask, the request, the session or ``g``. A service either completes and commits, or raises a
:class:`~app.services._core.errors.ServiceError` (``Invalid``, ``NotFound``, ``Forbidden``,
``Gone``, ``Conflict``) and changes nothing.
"""
