"""Tests of key management."""
