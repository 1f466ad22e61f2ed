"""The baseline for ``bench/serving.py``: a bare Flask app serving one fixed JSON body."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, Response

# The same bytes Cairn serves for the benchmarked credential, read once at start-up.
BODY = Path(os.environ["BENCH_BODY_FILE"]).read_bytes()

app = Flask(__name__)


@app.get("/credential")
def credential() -> Response:
    """The fixed body, with the media type Cairn uses."""
    return Response(BODY, mimetype="application/ld+json")
