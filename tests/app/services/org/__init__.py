"""Tests of the org domain (issuers, staff, achievements, audit)."""
