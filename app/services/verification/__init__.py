"""Verifying any credential (ours or another issuer's) and putting the verdict into words."""
