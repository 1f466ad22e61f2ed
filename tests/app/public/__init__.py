"""Tests of the public side: credential pages, downloads, profiles, the Verify page and API, and
the earner's manage link."""
