"""JSON-LD processing for credentials: an offline document loader and RDFC-1.0 canonicalisation."""

from credentials.jsonld.canonize import canonize, expand
from credentials.jsonld.loader import BUNDLED_CONTEXTS, DocumentLoader

__all__ = ["BUNDLED_CONTEXTS", "DocumentLoader", "canonize", "expand"]
