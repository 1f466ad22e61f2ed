"""Rewrite every stored SVG image with the allow-list sanitiser

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 08:30:00.000000

The old blocklist let some dangerous SVGs in (an ``<animate>`` that sets a link to a
``javascript:`` URL, for one), and those are baked into every badge download. New uploads go
through :mod:`app.svg_sanitiser`; this rewrites the ones already stored, keeping their safe
drawing (they cannot be refused any more: credentials already point at them). A file the
sanitiser cannot read at all becomes an empty drawing of the same size.

Each image keeps its ``sha256``: it is the image's public address, and signed credentials name
that address, so it must go on answering. The column then names the upload, not the bytes.
"""

import sqlalchemy as sa
from alembic import op

from app import svg_sanitiser

# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_image = sa.table(
    "image",
    sa.column("id", sa.Integer),
    sa.column("media_type", sa.String),
    sa.column("data", sa.LargeBinary),
    sa.column("width", sa.Integer),
    sa.column("height", sa.Integer),
)


def upgrade():
    connection = op.get_bind()
    # One image at a time: each may be a few megabytes.
    ids = connection.scalars(
        sa.select(_image.c.id).where(_image.c.media_type == "image/svg+xml").order_by(_image.c.id)
    ).all()
    for image_id in ids:
        data, width, height = connection.execute(
            sa.select(_image.c.data, _image.c.width, _image.c.height).where(_image.c.id == image_id)
        ).one()
        try:
            clean = svg_sanitiser.sanitise(bytes(data)).data
        except svg_sanitiser.SvgRejected:
            clean = (
                f'<svg xmlns="{svg_sanitiser.SVG_NS}" width="{int(width)}" height="{int(height)}"/>'
            ).encode()
        if clean != bytes(data):
            connection.execute(sa.update(_image).where(_image.c.id == image_id).values(data=clean))


def downgrade():
    # What was removed was script and external references; there is nothing to put back.
    pass
