"""Tests of the marshmallow schemas (``schemas/``): one per operation, for form and JSON alike."""
