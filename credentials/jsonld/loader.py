"""An offline JSON-LD document loader over pinned, bundled copies of the contexts credentials use.

Signing must never depend on the network (a context fetched at signing time could change what is
signed), and verifying must never let a credential make us fetch a URL of its choosing. So the
loader knows a fixed set of context URLs and refuses every other one.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Mapping
from importlib import resources
from typing import TYPE_CHECKING, Any

from credentials.errors import UnknownContext

if TYPE_CHECKING:
    from credentials.jsonld.canonize import CachingProcessor

#: Canonical context URL -> bundled file (``credentials/jsonld/contexts/``); see SOURCES.md there.
BUNDLED_CONTEXTS: Mapping[str, str] = {
    "https://www.w3.org/ns/credentials/v2": "w3c_credentials_v2.jsonld",
    "https://www.w3.org/2018/credentials/v1": "w3c_credentials_v1.jsonld",
    "https://www.w3.org/ns/credentials/status/v1": "w3c_credentials_status_v1.jsonld",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json": "ob_v3p0_context-3.0.3.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json": "ob_v3p0_context-3.0.2.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.1.json": "ob_v3p0_context-3.0.1.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/context.json": "ob_v3p0_context.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json": "ob_v3p0_extensions.json",
    "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json": "clr_v2p0_context-2.0.1.json",
    "https://w3id.org/security/data-integrity/v1": "w3id_security_data-integrity_v1.jsonld",
    "https://w3id.org/security/data-integrity/v2": "w3id_security_data-integrity_v2.jsonld",
    "https://w3id.org/security/multikey/v1": "w3id_security_multikey_v1.jsonld",
    "https://w3id.org/security/jwk/v1": "w3id_security_jwk_v1.jsonld",
    "https://w3id.org/security/suites/ed25519-2020/v1": (
        "w3id_security_suites_ed25519-2020_v1.jsonld"
    ),
    "https://www.w3.org/ns/did/v1": "w3c_did_v1.jsonld",
    # Open Badges 2.0: the hosted Assertion, BadgeClass and Issuer for older backpacks.
    "https://w3id.org/openbadges/v2": "openbadges_v2_context.json",
}


def _read_bundled(filename: str) -> Any:
    return json.loads(
        resources.files("credentials.jsonld").joinpath("contexts", filename).read_text("utf-8")
    )


class DocumentLoader:
    """Serves bundled contexts (plus any extra ones the caller adds) and refuses all other URLs.

    Each loader owns its own cache of processed contexts, so two loaders never share state:
    a test loader with an extra context cannot change what a production loader resolves.

    :param extra: additional ``url -> context document`` pairs (tests load the W3C examples
        context this way; production code passes nothing).
    """

    def __init__(self, extra: Mapping[str, Any] | None = None) -> None:
        documents = {url: _read_bundled(name) for url, name in BUNDLED_CONTEXTS.items()}
        for url, document in (extra or {}).items():
            documents[url] = copy.deepcopy(document)
        self._documents: dict[str, Any] = documents
        self._processor: CachingProcessor | None = None
        self._lock = threading.Lock()

    @property
    def urls(self) -> frozenset[str]:
        """Every context URL this loader resolves."""
        return frozenset(self._documents)

    def knows(self, url: str) -> bool:
        """Whether ``url`` is one of this loader's contexts."""
        return url in self._documents

    def __call__(self, url: str, options: Any = None) -> dict[str, Any]:
        """Resolve ``url`` the way pyld's document loaders do.

        :raises UnknownContext: for any URL not bundled with this loader.
        """
        document = self._documents.get(url)
        if document is None:
            raise UnknownContext(f"the JSON-LD context {url!r} is not one Cairn knows")
        # A copy, because JSON-LD processors may rewrite context documents in place.
        # "tag: static" lets the processor cache the resolved context for this loader.
        return {
            "contextUrl": None,
            "documentUrl": url,
            "document": copy.deepcopy(document),
            "tag": "static",
        }

    def processor(self) -> CachingProcessor:
        """The JSON-LD processor bound to this loader, with its own processed-context cache."""
        with self._lock:
            if self._processor is None:
                from credentials.jsonld.canonize import CachingProcessor

                self._processor = CachingProcessor(self)
            return self._processor
