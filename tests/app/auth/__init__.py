"""Tests of staff sign-in, accounts and invitations (``app.auth``)."""
