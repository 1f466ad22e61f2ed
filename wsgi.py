"""WSGI entry point: ``gunicorn wsgi:app``."""

import gc

from app import create_app

app = create_app()
# Long-lived from here on: keep it out of the garbage collector's full scans (see `cairn serve`).
gc.collect()
gc.freeze()
