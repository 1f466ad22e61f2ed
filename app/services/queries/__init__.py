"""Reads for the pages: query functions the views call instead of building queries themselves
(credentials search and reports, the workspace overview, the public pages)."""
