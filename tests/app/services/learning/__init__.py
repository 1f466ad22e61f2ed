"""Tests of the learning domain (modules, portfolios, reviews, pathways)."""
