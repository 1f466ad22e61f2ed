"""Tests of the mail domain (queueing, sealing, delivery)."""
