"""Tests of the development-only pages (``app.dev``)."""
