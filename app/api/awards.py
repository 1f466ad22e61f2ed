"""``POST /api/v1/issuers/<slug>/awards`` (one credential) and ``…/awards/bulk`` (a job from JSON
rows or a CSV file): the award schema and the issuing and bulk services the workspace uses."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import current_app, request, url_for
from marshmallow import ValidationError

from app.api import lookups
from app.api.core import ErrorSchema, actor, bp, current_issuer, idempotent, requires
from app.api.credentials import credential_json
from app.api.jobs import job_json
from app.api.schemas import CredentialOut, JobOut
from app.services._core.errors import Invalid
from app.services.awarding import bulk, issuing
from app.services.awarding.issuing import award_input
from app.services.org import achievements
from app.wiring import service_env
from schemas.awards import ApiAwardSchema, BulkAwardSchema
from schemas.errors import flat_errors

#: One instance for every request (a schema class given to ``arguments`` is instantiated per
#: request by webargs, copying its fields and nested schemas each time); loading keeps no
#: state in the instance, so threads share it.
AWARD_SCHEMA = ApiAwardSchema()
#: The columns a JSON bulk row becomes (those of a bulk CSV file).
BULK_COLUMNS = ("email", "name", "narrative", "evidence_url", "evidence_narrative", "expiry")


@bp.route("/issuers/<slug>/awards", methods=["POST"])
@requires("awards:write")
@idempotent
@bp.arguments(AWARD_SCHEMA)
@bp.response(201, CredentialOut)
def award(loaded: dict[str, Any], slug: str) -> Any:
    """Award one credential: signed, stored and emailed to the recipient, exactly as from the
    award form. `valid_until` is a date (valid through that day, UTC) or a time; `null` for no
    expiry; absent for the achievement's default validity."""
    issuer = current_issuer()
    achievement = lookups.achievement(issuer, loaded["achievement"])
    # Read now: when this request's award leads its batch, the batch's commit expires the
    # achievement, and reading its id for the answer afterwards would be one more query.
    achievement_id = achievement.public_id
    # A batch of awards may take its reads from the batches before it (``shared_reads``).
    env = lookups.with_shared_reads(service_env())
    credential = issuing.award(
        issuer, achievement, award_input(loaded["award"]), actor=actor(), env=env
    )
    location = url_for("api.read_credential", slug=slug, credential_id=credential.id)
    answer = credential_json(credential, env, achievement_id=achievement_id)
    return answer, 201, {"Location": location}


def _rows_csv(rows: list[dict[str, Any]]) -> bytes:
    """JSON rows as a bulk CSV file, so they take the same path as an upload."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(BULK_COLUMNS)
    for row in rows:
        writer.writerow([row.get(column) or "" for column in BULK_COLUMNS])
    return buffer.getvalue().encode("utf-8")


def _bulk_input() -> tuple[str, str, bytes]:
    """The achievement's id, a file name and the CSV bytes of a bulk request."""
    if request.mimetype == "text/csv":
        achievement_id = request.args.get("achievement", "")
        if not achievement_id:
            raise Invalid("Name the achievement: ?achievement=<id>.", "achievement")
        return achievement_id, "api-upload.csv", request.get_data()
    body = request.get_json(silent=True)
    if body is None:
        raise Invalid("Send JSON rows (application/json) or a CSV file (text/csv).")
    try:
        loaded = BulkAwardSchema().load(body)
    except ValidationError as error:
        field, message = next(iter(flat_errors(error, separator=".", first=True).items()))
        raise Invalid(message, None if field == "_schema" else field) from None
    return loaded["achievement"], "api-rows.csv", _rows_csv(loaded["rows"])


@bp.route("/issuers/<slug>/awards/bulk", methods=["POST"])
@requires("awards:write")
@idempotent
@bp.doc(
    requestBody={
        "required": True,
        "content": {
            "application/json": {"schema": BulkAwardSchema},
            "text/csv": {"schema": {"type": "string"}},
        },
        "description": "JSON rows, or a bulk CSV file (then `?achievement=<id>`); the columns "
        "are those of the workspace's bulk template.",
    },
    parameters=[
        {"name": "achievement", "in": "query", "required": False, "schema": {"type": "string"}}
    ],
)
@bp.response(202, JobOut)
@bp.alt_response(422, schema=ErrorSchema, description="The rows or the file cannot be used")
def award_bulk(slug: str) -> Any:
    """Award many credentials as a background job: every row is checked first (as a bulk upload
    is), then the rows that can be issued are issued. Poll `GET /api/v1/jobs/<id>` for progress
    and per-row results. A job with no row that can be issued is cancelled at once."""
    issuer = current_issuer()
    achievement_id, filename, data = _bulk_input()
    achievement = achievements.get(issuer, achievement_id)
    env = service_env()
    job = bulk.create_job(issuer, achievement, filename=filename, data=data, actor=actor(),
                          env=env, max_rows=int(current_app.config["MAX_CSV_ROWS"]))  # fmt: skip
    if job.valid_rows:
        bulk.confirm(job, actor=actor(), env=service_env())
    else:
        bulk.cancel(job, actor=actor(), env=service_env())
    return job_json(job), 202, {"Location": url_for("api.read_job", job_id=job.id)}
