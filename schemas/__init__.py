"""Boundary schemas (marshmallow) for API bodies and forms.

The vendored 1EdTech JSON Schemas live with the verifier in ``credentials/jsonschema/``; the
application's request schemas arrive with the issuer workspace.
"""
