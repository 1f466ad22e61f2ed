"""Tests of the database migrations (``app/migrations``)."""
