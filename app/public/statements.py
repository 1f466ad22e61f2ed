"""A renewal statement's public page (``/statements/<id>``, where its QR code leads): the
statement verified afresh on every visit (its own signature and each credential in it), what it
states, and its two downloads: the signed CLR 2.0 JSON and the PDF. The id is a random UUID,
so only those given the link or the printed code can find a statement."""

from __future__ import annotations

from flask import Response, render_template
from flask.typing import ResponseReturnValue

from app.formatting import page_locale
from app.public import bp
from app.services.learning import statements
from app.services.learning.statement_pdf import statement_pdf
from app.services.verification import verifier as verification
from app.wiring import fetcher, service_env


@bp.route("/statements/<statement_id>", methods=["GET"])
def statement(statement_id: str) -> ResponseReturnValue:
    """The statement and its verification."""
    env = service_env()
    shown = statements.view(statements.get(statement_id), env)
    report = verification.verify_record(shown.statement.document, env=env, fallback=fetcher())
    by_id = {str((inner.credential or {}).get("id")): inner for inner in report.embedded}
    return render_template(
        "public/statement.html",
        shown=shown,
        report=report,
        banner=verification.record_verdict(report),
        checked={line.credential_id: by_id.get(line.credential_id) for line in shown.lines},
    )


@bp.route("/statements/<statement_id>/statement.json", methods=["GET"])
def statement_json(statement_id: str) -> ResponseReturnValue:
    """The signed statement, exactly as it was signed."""
    found = statements.get(statement_id)
    response = Response(statements.document_text(found), mimetype="application/vc+ld+json")
    response.headers["Content-Disposition"] = 'attachment; filename="renewal-statement.json"'
    return response


@bp.route("/statements/<statement_id>/statement.pdf", methods=["GET"])
def statement_file(statement_id: str) -> ResponseReturnValue:
    """The statement as a PDF, dates and numbers in the reader's locale."""
    shown = statements.view(statements.get(statement_id), service_env())
    response = Response(statement_pdf(shown, locale=str(page_locale())), mimetype="application/pdf")
    response.headers["Content-Disposition"] = 'attachment; filename="renewal-statement.pdf"'
    return response
