"""Tests of the ``cairn`` command line (``app.cli``)."""
