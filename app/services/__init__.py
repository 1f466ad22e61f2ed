"""Use cases: the one write path that the web UI, the command line, background jobs and
``POST /api/verify`` all call (and every HTTP API added later must call).

Services take plain arguments (and their collaborators: key store, loader, ``now``) and return
models; they never touch the request, the session or ``g``. A service either completes and
commits, or raises a :class:`~app.services._core.errors.ServiceError` and changes nothing.
"""
