"""Tests of the mail transports, job runners and their wiring."""
