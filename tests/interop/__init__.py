"""Interoperability tests: Cairn's Data Integrity proofs against Digital Bazaar's vc.js."""
