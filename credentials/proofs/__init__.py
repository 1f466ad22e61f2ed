"""Proof formats: Data Integrity (``eddsa-rdfc-2022`` and legacy suites) and VC-JWT."""
