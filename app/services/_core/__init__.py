"""The floor every domain stands on: the service environment and its settings, service errors,
domain events, job names.
"""
