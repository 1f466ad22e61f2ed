"""Who issues and what: issuers, their staff and invitations, achievements, sessions and the audit
trail.
"""
