"""Changing a credential's status (revoke, suspend, lift a suspension): the internal note and the
public reason, for the API's JSON bodies (the workspace's forms send the
same names)."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate


class StatusChangeSchema(Schema):
    """``reason`` is the internal note (staff and the audit log); ``public_reason`` chooses the
    words the public pages show (``other``: then ``public_other`` is those words). Whether they
    are usable is checked by the revocation service, which knows the choices."""

    class Meta:
        unknown = EXCLUDE

    reason = fields.String(
        required=True,
        validate=validate.Length(max=2000),
        error_messages={"required": "Give a reason for the record."},
    )
    public_reason = fields.String(load_default="", validate=validate.Length(max=64))
    public_other = fields.String(load_default="", validate=validate.Length(max=500))
