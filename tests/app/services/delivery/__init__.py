"""Tests of the delivery domain (images, expiry notices)."""
