"""Tests of the floor the service domains stand on."""
