"""Cairn test suite."""
