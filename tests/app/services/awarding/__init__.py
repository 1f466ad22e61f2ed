"""Tests of the awarding domain (issuing, signing, bulk, queries)."""
