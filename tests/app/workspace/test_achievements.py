"""The achievement screens: list, create, edit (every edit a new version), detail with version
history, archive / restore; roles, sanitised markdown and image validation through the form."""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import url_for
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.extensions import db
from app.models import Achievement, AchievementVersion, Image, Membership, StaffAccount
from app.services.awarding import revocation
from app.services.org import achievements
from app.services.org.audit import Actor
from app.wiring import service_env
from tests.app.conftest import BASE_URL, sign_in_directly
from tests.app.services.delivery.test_images import BAD_UPLOADS, SAFE_SVG, png


def sign_in(client: FlaskClient, account: StaffAccount) -> None:
    """Sign in by writing the session (what the sign-in form does once it has checked)."""
    sign_in_directly(client, "staff", account.id)


def add_member(account: StaffAccount, issuer: Any, role: str) -> None:
    db.session.add(
        Membership(
            staff_id=account.id, issuer_id=issuer.id, role=role, created_at=service_env().now
        )
    )
    db.session.commit()


class FormReader(HTMLParser):
    """The values a browser would submit from each form of a page (by its action): text
    inputs, ticked boxes, chosen options and textarea contents; files and buttons left out."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: dict[str, dict[str, str]] = {}
        self._form: dict[str, str] | None = None
        self._textarea: str | None = None
        self._select: str | None = None
        self._first_option: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = self.forms.setdefault(a.get("action", ""), {})
        elif self._form is None:
            return
        elif tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self._form[a["name"]] = a.get("value", "on")
            elif kind not in ("file", "submit", "button"):
                self._form[a["name"]] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a["name"]
            self._form[a["name"]] = ""
        elif tag == "select":
            self._select = a["name"]
        elif tag == "option" and self._select:
            self._first_option.setdefault(self._select, a.get("value", ""))
            if "selected" in a:
                self._form[self._select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select" and self._select and self._form is not None:
            self._form.setdefault(self._select, self._first_option.get(self._select, ""))
            self._select = None

    def handle_data(self, data: str) -> None:
        if self._textarea and self._form is not None:
            self._form[self._textarea] += data


def form_values(page: str, action: str) -> dict[str, str]:
    """What a browser would post from the form with ``action``; textareas with CRLF line
    breaks, as browsers send them."""
    reader = FormReader()
    reader.feed(page)
    values = reader.forms[action]
    return {key: value.replace("\n", "\r\n") for key, value in values.items()}


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


#: The staff of the test workspace: who they are, and their role (``None``: no role at all).
PEOPLE = {
    "owner": ("owner@district7.example.org", "Pat Owner", "owner"),
    "editor": ("editor@district7.example.org", "Eddie Editor", "editor"),
    "awarder": ("awarder@district7.example.org", "Ava Awarder", "awarder"),
    "viewer": ("viewer@district7.example.org", "Vic Viewer", "viewer"),
    "outsider": ("outsider@elsewhere.example.org", "Olly Outsider", None),
}


class Workspace:
    """An issuer and its staff; accounts are made when first asked for (hashing a password
    takes a moment, and most tests need one or two people)."""

    def __init__(self, issuer: Any, make_staff: Callable[..., StaffAccount]) -> None:
        self.issuer = issuer
        self.base = f"/workspace/{issuer.slug}/achievements"
        self._make_staff = make_staff
        self._people: dict[str, StaffAccount] = {}

    def __getitem__(self, key: str) -> Any:
        if key in ("issuer", "base"):
            return getattr(self, key)
        if key not in self._people:
            email, name, role = PEOPLE[key]
            account = self._make_staff(email, name=name)
            if role is not None:
                add_member(account, self.issuer, role)
            self._people[key] = account
        return self._people[key]


@pytest.fixture
def workspace(app, make_staff, make_issuer) -> Workspace:
    return Workspace(make_issuer(), make_staff)


NEW_FORM = {
    "name": "Feedback That Moves Learning",
    "description": "Gives timely, specific feedback.",
    "criteria_markdown": "Submit **three** annotated samples.",
    "criteria_url": "https://pd.example.org/feedback",
    "learning_outcomes": "Write actionable feedback\r\nPlan re-teaching",
    "achievement_type": "Competency",
    "tags": "feedback, assessment",
    "credits_available": "1.5",
    "credit_unit": "ceu",
    "default_validity_days": "365",
    "alignments-0-target_name": "Analyst",
    "alignments-0-target_url": "https://iste.org/standards/educators#analyst",
    "alignments-0-target_framework": "ISTE Standards for Educators",
    "alignments-0-target_code": "2.7",
    "alignments-0-target_description": "",
    "alignments-0-target_type": "CFItem",
    "alignments-1-target_name": "",
    "alignments-1-target_url": "",
    "alignments-1-target_framework": "",
    "alignments-1-target_type": "",
}


def test_create_through_the_form(app, web, workspace) -> None:
    sign_in(web.client, workspace["editor"])
    new = workspace["base"] + "/new"
    page = web.get(new).get_data(as_text=True)
    assert '<datalist id="frameworks"><option value="ISTE Standards for Educators">' in page
    # Alignments are added one at a time: a new form offers one blank row.
    assert 'name="alignments-0-target_name"' in page
    assert 'name="alignments-1-target_name"' not in page
    # A new badge gets an image made from its name unless the editor designs or uploads one.
    assert 'name="image_source" value="generate" id="image_source" checked' in page
    # A new achievement's credit is in clock hours unless the editor chooses otherwise.
    assert '<option value="clock_hours" selected>Clock hours</option>' in page
    response = web.submit(new, data={**NEW_FORM, "generate_image": "1"})
    assert response.status_code == 303, response.get_data(as_text=True)
    achievement = db.session.scalars(select(Achievement)).one()
    assert response.location.endswith(f"{workspace['base']}/{achievement.public_id}")
    version = achievements.current_version(achievement)
    assert (version.version, version.name, version.achievement_type) == (
        1,
        "Feedback That Moves Learning",
        "Competency",
    )
    assert version.learning_outcomes == ["Write actionable feedback", "Plan re-teaching"]
    assert version.alignments == [
        {
            "target_name": "Analyst",
            "target_url": "https://iste.org/standards/educators#analyst",
            "target_framework": "ISTE Standards for Educators",
            "target_code": "2.7",
            "target_type": "CFItem",
        }
    ]
    assert version.tags == ["assessment", "feedback"]
    assert (version.credits_available, version.default_validity_days) == (1.5, 365)
    assert version.credit_unit == "ceu"
    assert version.image is not None and version.image.media_type == "image/png"
    assert version.created_by_id == workspace["editor"].id

    detail = web.get(response.location).get_data(as_text=True)
    assert "Submit <strong>three</strong> annotated samples." in detail
    assert "Write actionable feedback" in detail and "ISTE Standards for Educators" in detail
    assert "Credentials expire 365 days after they are issued" in detail
    assert "1.5" in detail and "feedback, assessment" not in detail  # tags are shown sorted
    assert "assessment, feedback" in detail
    listing = web.get(workspace["base"]).get_data(as_text=True)
    assert "Feedback That Moves Learning" in listing and "version 1" in listing
    assert "1.5 CEUs of credit" in listing and "<dd>1.5 CEUs</dd>" in detail


def test_create_with_an_uploaded_image(app, web, workspace) -> None:
    sign_in(web.client, workspace["editor"])
    new = workspace["base"] + "/new"
    data = {**NEW_FORM, "image": (io.BytesIO(SAFE_SVG), "badge.svg", "image/svg+xml")}
    response = web.submit(new, data=data, content_type="multipart/form-data")
    assert response.status_code == 303
    version = achievements.current_version(db.session.scalars(select(Achievement)).one())
    assert version.image is not None and version.image.data == SAFE_SVG
    detail = web.get(response.location).get_data(as_text=True)
    assert f"/images/{version.image.sha256}.svg" in detail


def test_no_image_when_neither_uploaded_nor_generated(app, web, workspace) -> None:
    sign_in(web.client, workspace["editor"])
    response = web.submit(workspace["base"] + "/new", data=NEW_FORM)
    assert response.status_code == 303
    assert achievements.current_version(db.session.scalars(select(Achievement)).one()).image is None
    assert count(Image) == 0


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": "  "}, "name", "Give it a name."),
        ({"description": ""}, "description", "Describe the achievement."),
        ({"criteria_markdown": "", "criteria_url": ""}, "criteria_markdown", "Say what earns it"),
        ({"criteria_url": "javascript:alert(1)"}, "criteria_url", "http:// or https://"),
        ({"achievement_type": "Trophy"}, "achievement_type", "from the list"),
        ({"credits_available": "-1"}, "credits_available", "between 0 and 10,000"),
        ({"credits_available": "1,5"}, "credits_available", "Enter a number, like 2 or 1.5"),
        ({"credit_unit": "furlongs"}, "credit_unit", "clock hours, CEUs or PD points"),
        ({"credits_available": "0.125"}, "credits_available", "two decimal places"),
        ({"default_validity_days": "0"}, "default_validity_days", "between 1 and 36,500"),
        ({"default_validity_days": "a year"}, "default_validity_days", "whole number"),
        ({"alignments-0-target_url": "iste.org"}, "alignments-0-target_url", "http:// or https://"),
        ({"alignments-0-target_name": ""}, "alignments-0-target_name", "Name the standard"),
        ({"alignments-0-target_type": "Standard"}, "alignments-0-target_type", "from the list"),
    ],
)
def test_bad_input_rerenders_with_the_message_and_stores_nothing(
    app, web, workspace, changes: dict[str, str], field: str, message: str
) -> None:
    sign_in(web.client, workspace["editor"])
    data = {**NEW_FORM, **changes, "generate_image": "1"}
    response = web.submit(workspace["base"] + "/new", data=data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    error = re.search(rf'<div id="{re.escape(field)}-error">(.*?)</div>', page, re.S)
    assert error, f"no error shown for {field}"
    assert message in error.group(1).replace("&#39;", "'")
    assert (f'id="{field}"' in page and f'aria-describedby="{field}-error"' in page) or (
        f'aria-describedby="{field}-hint {field}-error"' in page
    )
    assert "Nothing was saved." in page
    # What was typed is kept.
    assert 'value="Feedback That Moves Learning"' in page or "  " in changes.get("name", "")
    assert (count(Achievement), count(AchievementVersion), count(Image)) == (0, 0, 0)


@pytest.mark.parametrize(("data", "message"), BAD_UPLOADS.values(), ids=BAD_UPLOADS.keys())
def test_bad_images_are_refused_on_the_field(
    app, web, workspace, data: bytes, message: str
) -> None:
    sign_in(web.client, workspace["editor"])
    form = {**NEW_FORM, "image": (io.BytesIO(data), "badge.svg")}
    response = web.submit(workspace["base"] + "/new", data=form, content_type="multipart/form-data")
    assert response.status_code == 400
    error = re.search(r'<div id="image-error">(.*?)</div>', response.get_data(as_text=True), re.S)
    assert error and message.replace("<", "&lt;").replace(">", "&gt;") in error.group(1)
    assert (count(Achievement), count(Image)) == (0, 0)


def test_an_image_over_the_image_limit_is_refused_on_the_field(app, web, workspace) -> None:
    app.config["MAX_IMAGE_BYTES"] = 1024
    sign_in(web.client, workspace["editor"])
    big = png(300, 300, "#123456") + b"\0" * 2048
    form = {**NEW_FORM, "image": (io.BytesIO(big), "big.png")}
    response = web.submit(workspace["base"] + "/new", data=form, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "Images may be at most 1 KB." in response.get_data(as_text=True)
    assert (count(Achievement), count(Image)) == (0, 0)


def test_a_valid_image_is_kept_in_the_page_not_stored_when_the_rest_of_the_form_is_refused(
    app, web, workspace
) -> None:
    sign_in(web.client, workspace["editor"])
    picture = png()
    form = {**NEW_FORM, "name": "", "image": (io.BytesIO(picture), "badge.png")}
    response = web.submit(workspace["base"] + "/new", data=form, content_type="multipart/form-data")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "If you chose a file before, choose it again" not in page
    assert "you need not choose it again" in page
    kept = re.search(r'name="kept_image" value="([^"]+)"', page)
    assert kept and base64.b64decode(kept.group(1)) == picture
    assert 'name="kept_image_name" value="badge.png"' in page
    assert (count(Achievement), count(Image)) == (0, 0)
    # Sent back with the name filled in, the kept file becomes the badge's image.
    again = {**NEW_FORM, "image_source": "upload", "kept_image": kept.group(1)}
    response = web.submit(workspace["base"] + "/new", data=again)
    assert response.status_code == 303
    version = achievements.current_version(db.session.scalars(select(Achievement)).one())
    assert version.image is not None and version.image.data == picture


def test_upload_and_generate_together_is_refused(app, web, workspace) -> None:
    sign_in(web.client, workspace["editor"])
    form = {**NEW_FORM, "generate_image": "1", "image": (io.BytesIO(png()), "badge.png")}
    response = web.submit(workspace["base"] + "/new", data=form, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "Either upload an image or generate one" in response.get_data(as_text=True)
    assert (count(Achievement), count(Image)) == (0, 0)


def test_an_upload_over_the_request_limit_gets_a_readable_413(app, web, workspace) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    sign_in(web.client, workspace["editor"])
    token = web.csrf_token(workspace["base"] + "/new")
    response = web.client.post(
        workspace["base"] + "/new",
        data={**NEW_FORM, "csrf_token": token, "image": (io.BytesIO(b"\0" * 100_000), "huge.png")},
        content_type="multipart/form-data",
        base_url=BASE_URL,
    )
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "<!doctype html>" in page and "Upload too large" in page
    assert "at most 0.0625 MB in all" in page and "2,048 KB" in page
    assert count(Achievement) == 0


def test_preview_renders_the_criteria_and_saves_nothing(app, web, workspace) -> None:
    sign_in(web.client, workspace["editor"])
    data = {
        **NEW_FORM,
        "criteria_markdown": "Do *this*\r\n\r\n<script>alert(1)</script>",
        "preview": "1",
    }
    response = web.submit(workspace["base"] + "/new", data=data)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Criteria preview" in page and "<em>this</em>" in page
    assert "<script>alert(1)</script>" not in page
    # The filled row plus one blank row.
    assert 'name="alignments-1-target_name"' in page
    assert 'name="alignments-2-target_name"' not in page
    assert count(Achievement) == 0


def test_markdown_in_criteria_is_sanitised(app, web, workspace, make_achievement) -> None:
    achievement = make_achievement(
        workspace["issuer"],
        criteria_markdown=(
            "<script>alert('x')</script>\n\n[click me](javascript:alert(1)) and "
            '<img src=x onerror="alert(2)"> and [fine](https://pd.example.org/)'
        ),
    )
    sign_in(web.client, workspace["viewer"])
    page = web.get(f"{workspace['base']}/{achievement.public_id}").get_data(as_text=True)
    assert "<script>alert(" not in page
    assert "&lt;script&gt;alert" in page
    assert 'href="javascript' not in page  # the link is dropped, its text stays
    assert "<img src=x" not in page and "&lt;img src=x" in page
    assert '<a href="https://pd.example.org/" rel="nofollow noopener noreferrer">fine</a>' in page


def test_edit_makes_a_version_and_issued_credentials_keep_theirs(
    app, web, client, workspace, make_achievement, make_award
) -> None:
    issuer = workspace["issuer"]
    achievement = make_achievement(issuer)
    before = make_award(issuer, achievement, "a@school.example.org")
    before_document = before.document
    sign_in(web.client, workspace["editor"])
    edit = f"{workspace['base']}/{achievement.public_id}/edit"
    page = web.get(edit).get_data(as_text=True)
    assert "Credentials already issued keep version 1" in page
    values = form_values(page, edit)
    values.update(name="Formative Assessment, Revised", credits_available="2")
    response = web.submit(edit, data=values)
    assert response.status_code == 303
    assert achievement.current_version == 2
    after = make_award(issuer, achievement, "b@school.example.org")

    old_doc, new_doc = json.loads(before.document), json.loads(after.document)
    old_achievement = old_doc["credentialSubject"]["achievement"]
    new_achievement = new_doc["credentialSubject"]["achievement"]
    assert (old_achievement["name"], old_achievement["version"]) == (
        "Formative Assessment in Practice",
        "1",
    )
    assert (new_achievement["name"], new_achievement["version"]) == (
        "Formative Assessment, Revised",
        "2",
    )
    assert new_achievement["creditsAvailable"] == 2
    assert "creditsAvailable" not in old_achievement
    assert old_achievement["id"].endswith("/versions/1") and new_achievement["id"].endswith(
        "/versions/2"
    )
    # The earlier credential is exactly as it was signed, stored and served.
    db.session.expire_all()
    assert before.document == before_document
    assert (
        client.get(f"/credentials/{before.id}", base_url=BASE_URL).get_data(as_text=True)
        == before_document
    )

    detail = web.get(f"{workspace['base']}/{achievement.public_id}").get_data(as_text=True)
    history = detail[detail.index("Version history") :]
    assert "Eddie Editor" in history and "name, credit" in history
    assert f'href="/achievements/{achievement.public_id}/versions/1"' in history
    assert f'href="/achievements/{achievement.public_id}/versions/2"' in history
    assert "<strong>1</strong> issued" not in detail and "<strong>2</strong> issued" in detail
    version_one = client.get(f"/achievements/{achievement.public_id}/versions/1").json
    assert version_one["name"] == "Formative Assessment in Practice"


def test_an_unchanged_edit_adds_no_version(app, web, workspace, make_achievement) -> None:
    achievement = make_achievement(
        workspace["issuer"],
        criteria_markdown="Complete every activity.\n\n- and a **reflection**\n- and a plan",
        learning_outcomes=("Use exit tickets", "Adjust instruction"),
        alignments=(
            {
                "target_name": "Analyst",
                "target_url": "https://iste.org/standards/educators#analyst",
                "target_framework": "ISTE Standards for Educators",
            },
        ),
        tags=("formative", "assessment"),
        credits_available=2.25,
        default_validity_days=730,
    )
    sign_in(web.client, workspace["editor"])
    edit = f"{workspace['base']}/{achievement.public_id}/edit"
    values = form_values(web.get(edit).get_data(as_text=True), edit)
    assert values["credits_available"] == "2.25" and "\r\n" in values["criteria_markdown"]
    response = web.submit(edit, data=values)
    assert response.status_code == 303
    assert count(AchievementVersion) == 1 and achievement.current_version == 1
    page = web.get(response.location).get_data(as_text=True)
    assert "Nothing changed, so no new version was made." in page


def test_a_refused_edit_changes_nothing(app, web, workspace, make_achievement) -> None:
    achievement = make_achievement(workspace["issuer"])
    sign_in(web.client, workspace["editor"])
    edit = f"{workspace['base']}/{achievement.public_id}/edit"
    values = form_values(web.get(edit).get_data(as_text=True), edit)
    values.update(name="New name", criteria_url="not a url")
    response = web.submit(edit, data=values)
    assert response.status_code == 400
    assert 'value="New name"' in response.get_data(as_text=True)
    assert count(AchievementVersion) == 1
    assert achievements.current_version(achievement).name == "Formative Assessment in Practice"


def test_edit_can_replace_the_image(app, web, workspace, make_achievement) -> None:
    achievement = make_achievement(workspace["issuer"])
    sign_in(web.client, workspace["editor"])
    edit = f"{workspace['base']}/{achievement.public_id}/edit"
    values = form_values(web.get(edit).get_data(as_text=True), edit)
    values["image_source"] = "generate"
    assert web.submit(edit, data=values).status_code == 303
    generated = achievements.current_version(achievement).image_id
    assert generated is not None
    values = form_values(web.get(edit).get_data(as_text=True), edit)
    assert values["image_source"] == "keep"  # keeping the image is the default on edit
    assert web.submit(edit, data=values).status_code == 303
    assert achievement.current_version == 2  # kept: no new version
    values["image"] = (io.BytesIO(SAFE_SVG), "new.svg")
    response = web.submit(edit, data=values, content_type="multipart/form-data")
    assert response.status_code == 303 and achievement.current_version == 3
    detail = web.get(response.location).get_data(as_text=True)
    assert "image" in detail[detail.index("Version history") :]


def test_archive_and_restore(app, web, workspace, make_achievement) -> None:
    achievement = make_achievement(workspace["issuer"])
    other = make_achievement(workspace["issuer"], "Another Badge")
    sign_in(web.client, workspace["editor"])
    detail = f"{workspace['base']}/{achievement.public_id}"
    # Archiving asks first, saying what stops and what stays; nothing changes until confirmed.
    asked = web.submit(detail, f"{detail}/archive")
    question = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "Archive “Formative Assessment in Practice”?" in question
    assert "It stops being awarded at once." in question and "stay valid" in question
    assert achievement.archived_at is None
    response = web.submit(detail, f"{detail}/archive", data={"confirmed": "1"})
    assert response.status_code == 303 and achievement.archived_at is not None
    page = web.get(detail).get_data(as_text=True)
    assert "Archived" in page and "Restore" in page
    assert f"{detail}/restore" in page
    listing = web.get(workspace["base"]).get_data(as_text=True)
    assert "Another Badge" in listing and "Formative Assessment in Practice" not in listing
    archived = web.get(workspace["base"] + "?show=archived").get_data(as_text=True)
    assert "Formative Assessment in Practice" in archived and "Another Badge" not in archived
    everything = web.get(workspace["base"] + "?show=all").get_data(as_text=True)
    assert "Formative Assessment in Practice" in everything and "Another Badge" in everything
    assert web.submit(detail, f"{detail}/restore").status_code == 303
    assert achievement.archived_at is None and other.archived_at is None
    # Without the form's CSRF token nothing happens.
    refused = web.client.post(f"{detail}/archive", data={"confirmed": "1"}, base_url=BASE_URL)
    assert refused.status_code == 400 and achievement.archived_at is None


def test_detail_counts_and_award_buttons(app, web, workspace, make_achievement, make_award) -> None:
    issuer = workspace["issuer"]
    achievement = make_achievement(issuer)
    make_award(issuer, achievement, "a@school.example.org")
    revoked = make_award(issuer, achievement, "b@school.example.org")
    revocation.revoke(revoked, "Awarded in error", actor=Actor(label="test"), env=service_env())
    detail = f"{workspace['base']}/{achievement.public_id}"
    with app.test_request_context(base_url=BASE_URL):
        award = url_for("workspace.award", slug=issuer.slug, public_id=achievement.public_id)
        bulk = url_for("workspace.bulk_upload", slug=issuer.slug, public_id=achievement.public_id)

    sign_in(web.client, workspace["awarder"])
    page = web.get(detail).get_data(as_text=True)
    assert (
        "<strong>2</strong> issued · <strong>1</strong> valid · <strong>1</strong> revoked" in page
    )
    assert f'href="{award}"' in page and f'href="{bulk}"' in page
    assert "/edit" not in page and "/archive" not in page

    sign_in(web.client, workspace["viewer"])
    page = web.get(detail).get_data(as_text=True)
    assert f'href="{award}"' not in page and f'href="{bulk}"' not in page


ROLE_CASES = [
    # (who, method, path suffix, expected status)
    ("viewer", "GET", "/new", 403),
    ("viewer", "POST", "/new", 403),
    ("viewer", "GET", "/{id}/edit", 403),
    ("viewer", "POST", "/{id}/edit", 403),
    ("awarder", "POST", "/{id}/edit", 403),
    ("awarder", "POST", "/{id}/archive", 403),
    ("viewer", "POST", "/{id}/restore", 403),
    ("outsider", "GET", "", 404),
    ("outsider", "GET", "/{id}", 404),
    ("outsider", "POST", "/{id}/edit", 404),
    ("outsider", "POST", "/new", 404),
]


@pytest.mark.parametrize(("who", "method", "suffix", "status"), ROLE_CASES)
def test_roles(
    app, web, workspace, make_achievement, who: str, method: str, suffix: str, status: int
) -> None:
    achievement = make_achievement(workspace["issuer"])
    path = workspace["base"] + suffix.format(id=achievement.public_id)
    sign_in(web.client, workspace[who])
    if method == "GET":
        response = web.get(path)
    else:
        # A real token from a page this account may see, so only the role can refuse it.
        token = web.csrf_token("/workspace/")
        data = {**NEW_FORM, "name": "Hijacked", "csrf_token": token}
        response = web.client.post(path, data=data, base_url=BASE_URL)
    assert response.status_code == status
    assert count(AchievementVersion) == 1 and count(Achievement) == 1
    assert achievement.archived_at is None
    assert "Hijacked" not in response.get_data(as_text=True)


def test_viewer_sees_no_editing_controls(app, web, workspace, make_achievement) -> None:
    achievement = make_achievement(workspace["issuer"])
    sign_in(web.client, workspace["viewer"])
    listing = web.get(workspace["base"]).get_data(as_text=True)
    assert "New achievement" not in listing
    detail = web.get(f"{workspace['base']}/{achievement.public_id}").get_data(as_text=True)
    assert "/edit" not in detail and "Archive" not in detail


def test_anonymous_visitors_are_sent_to_sign_in(app, web, workspace) -> None:
    response = web.get(workspace["base"])
    assert response.status_code == 302 and "/login" in response.location


def test_another_issuers_achievement_is_not_found(
    app, web, workspace, make_issuer, make_achievement
) -> None:
    other = make_issuer("Other District", owner=workspace["outsider"])
    foreign = make_achievement(other)
    sign_in(web.client, workspace["editor"])
    assert web.get(f"{workspace['base']}/{foreign.public_id}").status_code == 404
    assert web.get(f"{workspace['base']}/{foreign.public_id}/edit").status_code == 404


def test_pages_have_labels_for_every_input_and_no_inline_code(
    app, web, workspace, make_achievement
) -> None:
    achievement = make_achievement(workspace["issuer"])
    sign_in(web.client, workspace["editor"])
    for path in (
        workspace["base"],
        workspace["base"] + "/new",
        f"{workspace['base']}/{achievement.public_id}",
        f"{workspace['base']}/{achievement.public_id}/edit",
    ):
        page = web.get(path).get_data(as_text=True)
        # Scripts only from files (the form's live preview), never inline code.
        scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.S)
        assert len(scripts) == page.count("<script")
        assert all('src="/static/js/' in attrs and not body.strip() for attrs, body in scripts)
        assert "style=" not in page and " on" + "click=" not in page
        labelled = set(re.findall(r'<label for="([^"]+)"', page))
        for kind, ident in re.findall(
            r'<(input|textarea|select)(?=[^>]*\sid="([^"]+)")(?![^>]*type="hidden")', page
        ):
            assert ident in labelled, f"{path}: <{kind} id={ident}> has no label"
