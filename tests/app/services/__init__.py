"""Tests of the service layer (the one write path)."""
