"""A credential's public URL (its ``id``): the page people see, the stored JSON machines get, and
the downloads (baked PNG/SVG, QR codes, certificate)."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import Response, abort, g, redirect, render_template, request, url_for
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import is_resource_modified, parse_accept_header
from werkzeug.wrappers import Response as BaseResponse

from app.extensions import db
from app.formatting import page_locale
from app.models import STATUS_LABELS, Image, IssuedCredential, Issuer
from app.public import bp, kept_pages, verdicts
from app.public.ob2 import assertion_response, wants_ob2
from app.qr import qr_png, qr_svg
from app.services._core.errors import required
from app.services.delivery import analytics, certificate_design, certificates, downloads, ob2
from app.services.delivery import queries as public_queries
from app.services.learning import educators
from app.services.org import queries as org_queries
from app.services.verification import verifier as verification
from app.wiring import service_env, view_tally
from credentials import VerificationReport

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

#: Media types that get the stored document, in order of preference.
JSON_TYPES = ("application/ld+json", "application/vc+ld+json", "application/json")
JWT_TYPES = ("application/vc+jwt", "application/jwt", "text/plain")


@dataclass(frozen=True)
class Negotiated:
    """What an ``Accept`` header asks of a credential's URL: a page (``html``), else the stored
    document as the best of :data:`JSON_TYPES` or of :data:`JWT_TYPES` (by its proof format)."""

    html: bool
    json_type: str
    jwt_type: str

    def media_type(self, proof_format: str) -> str:
        """The media type a stored document of ``proof_format`` is served as."""
        return self.jwt_type if proof_format == "jwt" else self.json_type


@functools.lru_cache(maxsize=256)
def negotiate(accept: str) -> Negotiated:
    """The answer to one ``Accept`` header, parsed as Flask's ``request.accept_mimetypes`` is.
    A browser asking for a page has ``text/html`` explicitly preferred to JSON; a client that
    sends ``*/*`` (or nothing) is a machine and gets the credential itself. Clients send few
    distinct headers, so each is parsed once per process."""
    parsed = parse_accept_header(accept, MIMEAccept)
    html = parsed["text/html"] if "text/html" in parsed.values() else 0
    machine = max(parsed[t] if t in parsed.values() else 0 for t in (*JSON_TYPES, *JWT_TYPES))
    return Negotiated(
        html=html > 0 and html >= machine,
        json_type=parsed.best_match(JSON_TYPES) or "application/ld+json",
        jwt_type=parsed.best_match(JWT_TYPES) or "application/vc+jwt",
    )


def wants_html() -> bool:
    """A browser asking for a page (:func:`negotiate`); ``?format=json`` always gets the
    stored document."""
    if request.args.get("format") == "json":
        return False
    return negotiate(request.headers.get("Accept", "")).html


#: The stored credential is never deleted, and a revocation or suspension changes the status
#: list, not these bytes; it is signed again only once, if ever, when its recipient's name is
#: added (``awarding/naming.py``: a new entity tag; the earlier version still verifies). So any
#: cache may keep them; a day (then a cheap ``304``) rather than a year bounds how long shared
#: caches would go on serving an earlier version, or a credential withdrawn from its URL.
DOCUMENT_CACHE = "public, max-age=86400"


def document_etag(body: bytes, media_type: str) -> str:
    """A strong entity tag: the SHA-256 of the bytes served, then the media type they are
    served as (each negotiated representation has a validator of its own, so a cache holding
    one never has another confirmed in its place)."""
    return f"{hashlib.sha256(body).hexdigest()}-{media_type.rpartition('/')[2]}"


@dataclass(frozen=True)
class DocumentAnswer:
    """The answer to a request for a stored document: ``200`` with the bytes, or ``304`` (empty)
    when the request's ``If-None-Match`` names the representation's entity tag."""

    status: int
    media_type: str
    etag: str
    body: bytes

    #: What every answer carries besides its type, length and entity tag.
    HEADERS = (
        ("Access-Control-Allow-Origin", "*"),
        ("Cache-Control", DOCUMENT_CACHE),
        ("Vary", "Accept"),
    )


def document_answer(
    found: public_queries.Stored, media_type: str, environ: WSGIEnvironment
) -> DocumentAnswer:
    """The credential exactly as signed and stored, as ``media_type``: never re-serialised,
    never re-signed. Decided from the WSGI environment alone, so the fast lane
    (:mod:`app.public.documents`) and the view answer alike."""
    body = found.document.encode("utf-8")
    etag = document_etag(body, media_type)
    # Only If-None-Match can apply (there is no Last-Modified, and no ranges are offered);
    # werkzeug's make_conditional would also add a Date header the server already sends.
    if "HTTP_IF_NONE_MATCH" in environ and not is_resource_modified(environ, etag=etag):
        return DocumentAnswer(304, media_type, etag, b"")
    return DocumentAnswer(200, media_type, etag, body)


def stored_document(found: public_queries.Stored) -> BaseResponse:
    """:func:`document_answer` for this request, as a response."""
    media_type = negotiate(request.headers.get("Accept", "")).media_type(found.proof_format)
    answer = document_answer(found, media_type, request.environ)
    response = Response(answer.body, status=answer.status, mimetype=answer.media_type)
    response.headers.extend(DocumentAnswer.HEADERS)
    response.set_etag(answer.etag)
    return response


def not_found_json() -> Response:
    """The 404 a machine asking for a credential gets."""
    body = json.dumps({"error": "not_found", "message": "There is no such credential."})
    response = Response(body, status=404, mimetype="application/json")
    response.headers["Vary"] = "Accept"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/credentials/<credential_id>")
def credential(credential_id: str) -> BaseResponse | str:
    """Content negotiation: a page for people, the stored credential for machines. The page
    shows the live status, so it is never kept (``no-cache``), and it ignores ``If-None-Match``:
    an entity tag only ever names a stored document's bytes. ``?v=2_0`` or an OB 2.0 profile in
    ``Accept`` gets the OB 2.0 hosted assertion (:mod:`app.public.ob2`)."""
    if wants_ob2():
        return assertion_response(credential_id)
    if not wants_html():
        document = public_queries.stored(credential_id)
        if document is None:
            # Whoever is served the credential as JSON gets its 404 as JSON too (also for
            # */* or ?format=json, which the app-wide handler would answer with a page), with
            # the CORS header a browser-based verifier needs to read it.
            return not_found_json()
        return stored_document(document)
    # Read before anything else, so a page kept by the lane is never older than what it is
    # kept under (app/public/kept_pages.py).
    keepable = kept_pages.is_anonymous_page_request(request.environ)
    inputs = kept_pages.page_inputs(db.session.connection(), credential_id) if keepable else None
    found = public_queries.credential(credential_id)
    if found.is_private:
        # Nothing about it, not even its issuer: the holder chose not to show it.
        page = render_template("public/credential_private.html", credential_id=found.id)
        return Response(page, headers={"Vary": "Accept", "Cache-Control": "no-store"})
    issuer = _issuer_of(found)
    env = service_env()
    view = downloads.view(found, env.base_url)
    report = verdicts.report_for(found, issuer, env)
    state = verification.state_of(found)
    holder = is_holder(found)
    page = render_template(
        "public/credential.html",
        credential=found,
        issuer=issuer,
        view=view,
        report=report,
        state=state,
        banner=banner(report, state),
        # Through our counter, as on the manage page and in the backpack: the click is counted,
        # then on to LinkedIn.
        linkedin=url_for("public.linkedin", credential_id=found.id),
        links=links(found),
        env=env,
        holder=holder,
    )
    if not holder:  # the holder looking at their own credential is not a view
        view_tally().add(found.id, env.now.date())
        expires = verdicts.kept_until(found.id, report)
        anonymous = g.get("staff") is None and g.get("educator") is None
        if inputs is not None and expires is not None and anonymous:
            request.environ[kept_pages.ENVIRON_KEY] = kept_pages.Keep(
                inputs, expires, report.outcome
            )
    # The holder's page has their sharing tools on it: it is theirs alone, never kept.
    cache = "private, no-store" if holder else "no-cache"
    return Response(page, headers={"Vary": "Accept, Cookie", "Cache-Control": cache})


def is_holder(found: IssuedCredential) -> bool:
    """Whether the visitor is signed in as the educator the credential was awarded to: the one
    visitor whose page has the sharing tools (LinkedIn, downloads, link, QR); everyone else sees
    a page to check it."""
    educator = g.get("educator")
    return educator is not None and educators.owns(educator, found)


def banner(report: VerificationReport, state: verification.CredentialState) -> dict[str, str]:
    """The one-word status people see first, with its explanation. Cairn's own record of a
    revocation (with its reason) or a suspension comes first; otherwise the live verification
    decides, and a status list that cannot be checked is "Status unknown"."""
    if state.revoked:
        reason = state.revocation_reason or "The issuer revoked it."
        return {"kind": "revoked", "title": STATUS_LABELS["revoked"], "detail": reason}
    if state.suspended:
        detail = state.suspension_reason or ""
        return {"kind": "suspended", "title": STATUS_LABELS["suspended"], "detail": detail}
    return verification.verdict(report)


#: Public downloads: any cache may keep them, but must ask again before reusing them (a cheap
#: 304), so a credential made private stops being served at once.
PUBLIC_CACHE = "public, no-cache"
#: Downloads through the earner's manage link: never in a shared cache.
PRIVATE_CACHE = "private, no-cache"
#: The downloads a credential offers, by file name (the last part of their URLs).
DOWNLOADS = (
    "badge.png",
    "badge.svg",
    "badge-ob2.png",
    "credential.json",
    "qr.png",
    "qr.svg",
    "certificate.pdf",
)


@dataclass(frozen=True)
class Download:
    """One file made from a credential: its bytes (made only when needed) and its labels."""

    media_type: str
    filename: str
    etag: str
    body: Callable[[], bytes]
    attachment: bool = True
    #: The file depends on the request's Accept-Language (the certificate: its dates, and its
    #: paper unless the issuer or ``?paper=`` chose one).
    vary_language: bool = False


def _issuer_of(found: IssuedCredential) -> Issuer:
    return required(org_queries.issuer(found.issuer_id), "The issuer is missing.")


def paper(issuer: Issuer) -> str:
    """The certificate's paper: ``?paper=a4`` or ``?paper=letter`` when asked for, else the
    issuer's choice, else US Letter for a reader whose language names a Letter region
    (``en-US``) and A4 for everyone else."""
    return certificate_design.paper_for(
        request.args.get("paper"),
        issuer.certificate_paper,
        [language for language, _ in request.accept_languages],
    )


def download(found: IssuedCredential, name: str) -> Download:
    """The download called ``name`` (one of :data:`DOWNLOADS`) of a credential."""
    url = f"{service_env().base_url}/credentials/{found.id}"
    if name == "badge.png":
        return Download(
            "image/png",
            f"badge-{found.id}.png",
            downloads.etag(found, "png"),
            lambda: downloads.badge_png(found),
        )
    if name == "badge.svg":
        return Download(
            "image/svg+xml",
            f"badge-{found.id}.svg",
            downloads.etag(found, "svg"),
            lambda: downloads.badge_svg(found),
        )
    if name == "badge-ob2.png":
        env = service_env()
        return Download(
            "image/png",
            f"badge-{found.id}-ob2.png",
            ob2.baked_png_etag(found, env),
            lambda: ob2.baked_png(found, env),
        )
    if name == "credential.json":
        jwt = found.proof_format == "jwt"
        return Download(
            "application/vc+jwt" if jwt else "application/ld+json",
            f"credential-{found.id}.{'jwt' if jwt else 'json'}",
            downloads.etag(found, "document"),
            lambda: found.document.encode("utf-8"),
        )
    if name == "qr.png":
        return Download(
            "image/png",
            f"qr-{found.id}.png",
            downloads.url_etag("qr-png", url),
            lambda: qr_png(url),
            attachment=False,
        )
    if name == "qr.svg":
        return Download(
            "image/svg+xml",
            f"qr-{found.id}.svg",
            downloads.url_etag("qr-svg", url),
            lambda: qr_svg(url),
            attachment=False,
        )
    if name == "certificate.pdf":
        issuer = _issuer_of(found)
        size = paper(issuer)
        design = certificate_design.design_for(issuer, found)
        # Dates are written as the certificate page writes them, in the reader's locale.
        locale = str(page_locale())
        return Download(
            "application/pdf",
            f"certificate-{found.id}-{size}.pdf",
            downloads.etag(found, f"pdf-{size}-{locale}", design.fingerprint()),
            lambda: certificates.certificate_pdf(
                downloads.view(found, service_env().base_url),
                paper=size,
                design=design,
                locale=locale,
            ),
            vary_language=True,
        )
    abort(404)


def send(item: Download, *, cache: str) -> BaseResponse:
    """A download with its entity tag: a conditional request that still matches gets ``304``
    without the file being made again."""
    modified = is_resource_modified(request.environ, etag=item.etag)
    response = Response(item.body() if modified else b"", mimetype=item.media_type)
    if item.attachment:
        response.headers["Content-Disposition"] = f'attachment; filename="{item.filename}"'
    response.headers["Cache-Control"] = cache
    if item.vary_language:
        response.vary.add("Accept-Language")
    response.set_etag(item.etag)
    return response.make_conditional(request)


def _shareable(credential_id: str) -> IssuedCredential:
    """A credential whose downloads anyone may have: a private one is not found."""
    found = public_queries.credential(credential_id)
    if found.is_private:
        abort(404)
    return found


def _counted(response: BaseResponse, found: IssuedCredential, name: str) -> BaseResponse:
    """Count a download that was served (a ``304`` revalidation is not a new download)."""
    if response.status_code == 200:
        analytics.record_download(found.id, name, service_env())
    return response


def _public(found: IssuedCredential, name: str) -> BaseResponse:
    response = _counted(send(download(found, name), cache=PUBLIC_CACHE), found, name)
    response.headers["Access-Control-Allow-Origin"] = "*"  # e.g. a wallet importing the badge
    if name == "badge.svg":
        # An SVG opened directly is a document; the baked one only needs its own data: images.
        response.headers["Content-Security-Policy"] = SVG_CSP
    return response


#: What a downloaded SVG may do when opened as a page: show itself, nothing else.
SVG_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox"


def private_download(found: IssuedCredential, name: str) -> BaseResponse:
    """A download for the credential's holder (backpack or manage link), also while it is
    private: never kept in a shared cache, and its address never sent on as a referrer."""
    if name not in DOWNLOADS:
        abort(404)
    response = _counted(send(download(found, name), cache=PRIVATE_CACHE), found, name)
    if name == "badge.svg":
        response.headers["Content-Security-Policy"] = SVG_CSP
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


#: The downloads of a shareable credential, by endpoint: the badge image with the credential
#: baked in, a QR code of its public URL, and the certificate as a PDF (``?paper=letter`` for
#: US Letter). A private credential's are refused as its page is.
SHAREABLE_DOWNLOADS = {
    "badge_png": "badge.png",
    "badge_svg": "badge.svg",
    "badge_ob2_png": "badge-ob2.png",
    "qr_code_png": "qr.png",
    "qr_code_svg": "qr.svg",
    "certificate_pdf": "certificate.pdf",
}


def shareable_download(credential_id: str, name: str) -> BaseResponse:
    """One of :data:`SHAREABLE_DOWNLOADS` of a shareable credential."""
    return _public(_shareable(credential_id), name)


for _endpoint, _name in SHAREABLE_DOWNLOADS.items():
    bp.add_url_rule(
        f"/credentials/<credential_id>/{_name}",
        _endpoint,
        shareable_download,
        methods=["GET"],
        defaults={"name": _name},
    )


@bp.get("/credentials/<credential_id>/linkedin")
def linkedin(credential_id: str) -> BaseResponse:
    """ "Add to LinkedIn": count the click, then on to LinkedIn's pre-filled form. Only ever
    LinkedIn's address, built here, so this is no open redirect; a private credential has
    nothing to add, and a revoked or suspended one is not offered for a profile."""
    found = _shareable(credential_id)
    state = verification.state_of(found)
    if state.revoked or state.suspended:
        abort(404, description="This credential is not in good standing, so it is not offered "
                               "for adding to a profile.")  # fmt: skip
    env = service_env()
    target = downloads.linkedin_url(downloads.view(found, env.base_url), _issuer_of(found))
    analytics.record(found.id, "linkedin", env)
    response = redirect(target)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get("/credentials/<credential_id>/credential.json")
def credential_file(credential_id: str) -> BaseResponse:
    """The stored credential as a file to keep (``.json``, or ``.jwt`` for a VC-JWT). Served
    for private credentials too: the stored credential stays verifiable by whoever holds its
    URL, as its content-negotiated form does."""
    return _public(public_queries.credential(credential_id), "credential.json")


def links(found: IssuedCredential, token: str | None = None) -> dict[str, str]:
    """The URLs of a credential's page and downloads: the public ones, or (with the earner's
    manage ``token``) the ones that work while it is private."""
    if token is None:
        public: dict[str, Any] = {"credential_id": found.id}
        return {
            "page": url_for("public.credential", **public),
            "badge.png": url_for("public.badge_png", **public),
            "badge.svg": url_for("public.badge_svg", **public),
            "badge-ob2.png": url_for("public.badge_ob2_png", **public),
            "credential.json": url_for("public.credential_file", **public),
            "qr.png": url_for("public.qr_code_png", **public),
            "qr.svg": url_for("public.qr_code_svg", **public),
            "certificate": url_for("public.certificate", **public),
            "certificate.pdf": url_for("public.certificate_pdf", **public),
            "certificate-a4.pdf": url_for("public.certificate_pdf", paper="a4", **public),
            "certificate-letter.pdf": url_for("public.certificate_pdf", paper="letter", **public),
        }
    managed: dict[str, Any] = {"credential_id": found.id, "token": token}
    found_links = {
        name: url_for("public.manage_download", name=name, **managed) for name in DOWNLOADS
    }
    found_links["page"] = url_for("public.manage", **managed)
    found_links["certificate"] = url_for("public.manage_certificate", **managed)
    for size in certificate_design.PAPERS:
        found_links[f"certificate-{size}.pdf"] = url_for(
            "public.manage_download", name="certificate.pdf", paper=size, **managed
        )
    return found_links


def certificate_page(found: IssuedCredential, page_links: dict[str, str] | None = None) -> str:
    """The printable certificate page; with ``page_links`` (the manage link's, or the
    backpack's) its links keep working while the credential is private."""
    issuer = _issuer_of(found)
    page_links = page_links or links(found)
    view = downloads.view(found, service_env().base_url)
    badge = downloads.version_image(found)
    design = certificate_design.design_for(issuer, found)
    locale = str(page_locale())
    response = render_template(
        "public/certificate.html",
        credential=found,
        issuer=issuer,
        view=view,
        links=page_links,
        design=design,
        paper=paper(issuer),
        badge_url=_image_url(badge) if badge is not None else page_links["badge.png"],
        signature_url=_image_url(issuer.signature_image)
        if design.signatory_name and issuer.signature_image is not None
        else None,
        dates={
            "issued": certificate_design.long_date(view.awarded or view.valid_from, locale),
            "expires": certificate_design.long_date(view.valid_until, locale),
        },
    )
    return response


def _image_url(image: Image) -> str:
    extension = "svg" if image.media_type == "image/svg+xml" else "png"
    return url_for("public.image", sha256=image.sha256, extension=extension)


@bp.get("/credentials/<credential_id>/certificate")
def certificate(credential_id: str) -> str:
    """A certificate page laid out for printing (A4 or Letter, landscape)."""
    return certificate_page(_shareable(credential_id))
