"""Awarding credentials: issuing one or many, signing, revocation and suspension, status lists,
bulk jobs.
"""
