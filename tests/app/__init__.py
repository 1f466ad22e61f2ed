"""Tests of the Flask application, its CLI and its helpers."""
