"""Tests of the credentials library."""
