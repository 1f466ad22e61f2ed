# syntax=docker/dockerfile:1
# Cairn's image: two stages. The first installs Cairn and its runtime dependencies (never the
# dev, test or Node tools) into a virtualenv; the second copies only that virtualenv onto a
# clean Python image and runs as an unprivileged user. See docs/operations.md.
#
#   docker build -t cairn .
#   docker run --env-file cairn.env -p 8000:8000 cairn            # the web application
#   docker run --env-file cairn.env cairn cairn worker              # an RQ worker
#   docker run --env-file cairn.env cairn cairn db upgrade          # migrations
#
# PYTHON_IMAGE may name another Debian-based image with python3 and its venv module (a
# mirror, or a base built in-house); the default is the official slim image.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python3 -m venv /opt/cairn
# What the package is built from, and nothing else (tests, bench, docs stay out).
COPY pyproject.toml README.md ./
COPY credentials ./credentials
COPY keys ./keys
COPY schemas ./schemas
COPY app ./app
# Runtime dependencies only, at the versions pyproject.toml pins; every one ships a wheel, so
# no compiler is needed. Bytecode is compiled here, as root, because the final image's user
# cannot write to /opt/cairn. Behind a TLS-inspecting proxy, hand its CA bundle in as a build
# secret (docker build --secret id=pip_ca,src=/etc/ssl/certs/ca-certificates.crt .): it is
# mounted for this step only and never stored in a layer.
RUN --mount=type=secret,id=pip_ca,required=false \
    if [ -s /run/secrets/pip_ca ]; then export PIP_CERT=/run/secrets/pip_ca; fi \
    && /opt/cairn/bin/pip install . \
    && /opt/cairn/bin/python -m compileall -q /opt/cairn/lib \
    && /opt/cairn/bin/cairn --help > /dev/null

FROM ${PYTHON_IMAGE}
LABEL org.opencontainers.image.title="Cairn" \
      org.opencontainers.image.description="Open Badges 3.0 issuing service" \
      org.opencontainers.image.licenses="Apache-2.0"
# A system user with a fixed id (volumes can be prepared for it: chown 10001).
RUN groupadd --system --gid 10001 cairn \
    && useradd --system --uid 10001 --gid cairn --home-dir /var/lib/cairn --create-home \
       --shell /usr/sbin/nologin cairn \
    && mkdir -p /var/lib/cairn/keys \
    && chown -R cairn:cairn /var/lib/cairn
COPY --from=build /opt/cairn /opt/cairn
ENV PATH=/opt/cairn/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    CAIRN_ENV=production \
    CAIRN_LOG_FORMAT=json \
    CAIRN_KEYS_DIR=/var/lib/cairn/keys
# Numeric, so an orchestrator can check it is not root (Kubernetes runAsNonRoot).
USER 10001:10001
WORKDIR /var/lib/cairn
VOLUME ["/var/lib/cairn/keys"]
EXPOSE 8000
# /healthz checks the process only (no database), so a database outage does not get every
# container restarted; /readyz is for the load balancer.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python3", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]
CMD ["cairn", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
