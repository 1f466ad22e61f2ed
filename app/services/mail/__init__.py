"""Mail as a service: queueing, rendering from templates, sealing secret links, delivering through
the transport.
"""
