"""Webhooks: issuers' endpoints (``endpoints``), the signed messages sent to them with retries
and a log of every attempt (``deliveries``), and what each domain event becomes (``reactions``)."""
