"""Tests of the staff workspace (``app.workspace``, ``/workspace``)."""
