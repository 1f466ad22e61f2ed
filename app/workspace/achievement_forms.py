"""Reading the achievement form: its fields through ``schemas.achievements``, and its image,
which is uploaded (or kept from a refused submission), drawn by the badge designer, generated
from the name, or the current one kept."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from marshmallow import ValidationError
from werkzeug.datastructures import FileStorage

from app.models import Image
from app.services._core.errors import Invalid, ServiceError
from app.services._core.transaction import roll_back_refused
from app.services.delivery import badge_designer, images
from app.services.org.achievements import AchievementInput
from app.workspace.badge_designs import design_from_form
from schemas.achievements import AchievementSchema, achievement_form_data
from schemas.errors import flat_errors


class FormInvalid(Exception):
    """A submitted form was refused; ``errors`` maps input names to messages, and ``kept`` is
    the upload that passed the image rules, if there was one, to send back with the page."""

    def __init__(self, errors: dict[str, list[str]], kept: KeptImage | None = None) -> None:
        super().__init__("; ".join(m for messages in errors.values() for m in messages))
        self.errors = errors
        self.kept = kept


@dataclass(frozen=True)
class KeptImage:
    """An upload that passed the image rules on a form refused for something else. It goes back
    with the page (``kept_image``, base64) so the user need not choose the file again; nothing
    is stored, and it is checked again like a new upload when the form returns."""

    data: str
    media_type: str
    filename: str

    @property
    def data_url(self) -> str:
        """The picture as a ``data:`` URL for the form's thumbnail (the CSP allows them)."""
        return f"data:{self.media_type};base64,{self.data}"


def store_image_upload(upload: FileStorage | None, now: datetime) -> int | None:
    """Validate and store an uploaded badge image or logo (in the open transaction).

    :returns: the image id, or None when no file was chosen.
    :raises ServiceError: explaining what is wrong with the file.
    """
    if upload is None or not upload.filename:
        return None
    return _store_bytes(_read_upload(upload), now).id


def _read_upload(upload: FileStorage) -> bytes:
    # One byte over the limit is enough for store_upload to refuse the file with its message.
    data: bytes = upload.read(current_app.config["MAX_IMAGE_BYTES"] + 1)
    return data


def _store_bytes(data: bytes, now: datetime) -> Image:
    return images.store_upload(
        data,
        max_bytes=current_app.config["MAX_IMAGE_BYTES"],
        max_pixels=current_app.config["MAX_IMAGE_PIXELS"],
        now=now,
    )


def _kept_bytes(value: str) -> bytes:
    # A kept file comes back from the browser, so it is as untrusted as a new upload: bounded
    # before decoding, then put through the same rules.
    if len(value) > current_app.config["MAX_IMAGE_BYTES"] * 4 // 3 + 8:
        raise Invalid(
            f"Images may be at most {current_app.config['MAX_IMAGE_BYTES'] // 1024:,} KB."
        )
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid("The file kept from before could not be read: choose it again.") from None


def _upload_or_kept(
    form: Mapping[str, str],
    files: Mapping[str, FileStorage],
    errors: dict[str, list[str]],
    now: datetime,
) -> tuple[Image | None, KeptImage | None]:
    """The image uploaded now, or the one kept from a refused submission; stored (uncommitted)."""
    upload = files.get("image")
    try:
        if upload is not None and upload.filename:
            data, filename = _read_upload(upload), upload.filename
        elif form.get("kept_image"):
            data, filename = _kept_bytes(form["kept_image"]), form.get("kept_image_name", "")
        else:
            return None, None
        image = _store_bytes(data, now)
    except ServiceError as exc:
        errors.setdefault("image", []).append(exc.message)
        return None, None
    kept = KeptImage(base64.b64encode(image.data).decode("ascii"), image.media_type, filename[:200])
    return image, kept


def kept_upload(
    form: Mapping[str, str], files: Mapping[str, FileStorage], now: datetime
) -> KeptImage | None:
    """The file chosen (or kept) on a form submitted only to preview it or add an alignment row,
    if it passes the image rules: sent back with the page; nothing is stored."""
    image, kept = _upload_or_kept(form, files, {}, now)
    if image is not None:
        roll_back_refused()
    return kept


def _legacy_image(
    form: Mapping[str, str],
    files: Mapping[str, FileStorage],
    loaded: dict[str, Any] | None,
    errors: dict[str, list[str]],
    *,
    current_image_id: int | None,
    now: datetime,
) -> tuple[int | None, KeptImage | None]:
    # A form without the image choice (a script, or a page from before it): a file replaces
    # the image, "generate_image" asks for the default one, and both at once are refused.
    image, kept = _upload_or_kept(form, files, errors, now)
    image_id = image.id if image is not None else current_image_id
    if loaded is not None and loaded["generate_image"]:
        upload = files.get("image")
        if upload is not None and upload.filename:
            errors.setdefault("generate_image", []).append(
                "Either upload an image or generate one, not both."
            )
        elif not errors:
            image_id = images.generate_default(loaded["name"], now=now).id
    return image_id, kept


def _chosen_image(
    form: Mapping[str, str],
    files: Mapping[str, FileStorage],
    loaded: dict[str, Any] | None,
    errors: dict[str, list[str]],
    *,
    current_image_id: int | None,
    now: datetime,
) -> tuple[int | None, KeptImage | None]:
    """The image the form chose (``image_source``): kept, uploaded, designed or generated.
    Problems are added to ``errors``; what is stored is rolled back if the form is refused."""
    source = form.get("image_source")
    upload = files.get("image")
    if upload is not None and upload.filename and source in ("keep", "generate"):
        # Without JavaScript every panel shows; a file chosen there is the clearest wish.
        source = "upload"
    if not source:
        return _legacy_image(
            form, files, loaded, errors, current_image_id=current_image_id, now=now
        )
    if source == "keep":
        return current_image_id, None
    if source == "upload":
        image, kept = _upload_or_kept(form, files, errors, now)
        if image is None and "image" not in errors:
            errors["image"] = ["Choose a file to upload, or choose another way to make the image."]
        return (image.id if image is not None else None), kept
    if source == "design":
        if upload is not None and upload.filename:
            errors["image_source"] = ["Either design a badge or upload a file, not both."]
            return None, None
        try:
            return badge_designer.store_design(design_from_form(form), now=now).id, None
        except ValidationError as exc:
            errors.update(flat_errors(exc))
            return None, None
    if source == "generate":
        if loaded is None or errors:
            return None, None
        return images.generate_default(loaded["name"], now=now).id, None
    errors["image_source"] = ["Choose how the badge gets its image."]
    return None, None


def achievement_input_from_form(
    form: Mapping[str, str],
    files: Mapping[str, FileStorage],
    *,
    current_image_id: int | None,
    now: datetime,
) -> AchievementInput:
    """Validate a submitted achievement form (fields with ``schemas.achievements``, the image
    with ``images.store_upload`` or the badge designer) into the service's input.

    The image is the uploaded (or kept) file, a designed badge, a generated default, or
    ``current_image_id`` (kept). A new image is added to the session uncommitted; when the form
    is refused the session is rolled back, so a refused form stores nothing.

    :raises FormInvalid: with every problem found, by input name.
    """
    errors: dict[str, list[str]] = {}
    loaded: dict[str, Any] | None = None
    try:
        loaded = AchievementSchema().load(achievement_form_data(form))
    except ValidationError as exc:
        errors = flat_errors(exc)
    image_id, kept = _chosen_image(
        form, files, loaded, errors, current_image_id=current_image_id, now=now
    )
    if errors or loaded is None:
        roll_back_refused()
        raise FormInvalid(errors, kept)
    return AchievementInput.from_loaded(loaded, image_id)
