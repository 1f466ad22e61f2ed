"""The badge designer in the achievement form and its preview route, and the form's other aids:
the colour presets and "Add another alignment" without JavaScript, the human type labels, the
folded "More details", and the error summary that links to the fields."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from app import svg_sanitiser
from app.extensions import db
from app.models import Achievement, AchievementVersion, Image
from app.services.delivery.badge_designer import BadgeDesign, render_svg
from app.services.org import achievements
from app.services.org.achievement_labels import ACHIEVEMENT_TYPE_LABELS, ALIGNMENT_TYPE_LABELS
from credentials import ACHIEVEMENT_TYPES, ALIGNMENT_TARGET_TYPES
from schemas.badge_designs import PRESETS
from tests.app.services.delivery.test_images import png
from tests.app.workspace.test_achievements import NEW_FORM, Workspace, count, sign_in

DESIGN = {
    "image_source": "design",
    "design_shape": "shield",
    "design_background": "#1D3A6B",
    "design_border": "#9fb8e0",
    "design_text_colour": "#ffffff",
    "design_icon": "book-open",
    "design_line1": "Literacy",
    "design_line2": "Coach",
}


@pytest.fixture
def workspace(app, make_staff, make_issuer) -> Workspace:
    return Workspace(make_issuer(), make_staff)


def preview_path(workspace) -> str:
    return f"/workspace/{workspace['issuer'].slug}/badge-design.svg"


def test_the_preview_is_the_drawing_saving_would_store(app, web, workspace) -> None:
    sign_in(web.client, workspace["editor"])
    query = {key.removeprefix("design_"): value for key, value in DESIGN.items()}
    response = web.get(preview_path(workspace), query_string=query)
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    expected = BadgeDesign(
        shape="shield",
        background="#1d3a6b",
        border="#9fb8e0",
        text_colour="#ffffff",
        icon="book-open",
        line1="Literacy",
        line2="Coach",
    )
    assert response.data == render_svg(expected)
    assert response.headers["Cache-Control"] == "private, max-age=300"
    assert web.get(preview_path(workspace)).status_code == 200  # the default design
    refused = web.get(preview_path(workspace), query_string={"icon": "../../secret"})
    assert refused.status_code == 400 and "Choose an icon" in refused.get_data(as_text=True)
    assert count(Image) == 0  # a preview is never stored


def test_the_preview_is_for_editors(app, web, workspace) -> None:
    sign_in(web.client, workspace["viewer"])
    assert web.get(preview_path(workspace)).status_code == 403
    sign_in(web.client, workspace["outsider"])
    assert web.get(preview_path(workspace)).status_code == 404


def test_create_with_a_designed_badge(app, web, workspace) -> None:
    sign_in(web.client, workspace["editor"])
    response = web.submit(workspace["base"] + "/new", data={**NEW_FORM, **DESIGN})
    assert response.status_code == 303, response.get_data(as_text=True)
    version = achievements.current_version(db.session.scalars(select(Achievement)).one())
    assert version.image is not None and version.image.media_type == "image/svg+xml"
    drawn = render_svg(
        BadgeDesign(
            shape="shield",
            background="#1d3a6b",
            border="#9fb8e0",
            text_colour="#ffffff",
            icon="book-open",
            line1="Literacy",
            line2="Coach",
        )
    )
    # Stored as the sanitiser writes it, with nothing removed.
    assert version.image.data == svg_sanitiser.sanitise(drawn).data
    assert not svg_sanitiser.sanitise(drawn).removed
    detail = web.get(response.location).get_data(as_text=True)
    assert f"/images/{version.image.sha256}.svg" in detail


def test_a_bad_design_is_refused_beside_its_field_and_in_the_summary(app, web, workspace) -> None:
    sign_in(web.client, workspace["editor"])
    data = {**NEW_FORM, **DESIGN, "design_line1": "x" * 17, "design_icon": "skull"}
    response = web.submit(workspace["base"] + "/new", data=data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert re.search(r'<div id="design_line1-error"><p class="field-error">At most 16', page)
    assert re.search(r'<div id="design_icon-error"><p class="field-error">Choose an icon', page)
    assert '<a href="#design_line1">First line</a>: At most 16' in page
    assert '<a href="#design_icon">Icon</a>: Choose an icon' in page
    # The preview beside the errors draws the rest of the design, not a broken image.
    preview = re.search(r'<img id="design-preview" src="([^"]+)"', page)
    assert preview and "shape=shield" in preview.group(1)
    assert "line1=" not in preview.group(1) and "icon=" not in preview.group(1)
    assert (count(Achievement), count(Image)) == (0, 0)


def test_the_summary_links_every_refused_field(app, web, workspace) -> None:
    sign_in(web.client, workspace["editor"])
    data = {**NEW_FORM, "name": "", "alignments-0-target_url": "iste", "image_source": "generate"}
    page = web.submit(workspace["base"] + "/new", data=data).get_data(as_text=True)
    start = page.index('class="flash flash-error error-summary"')
    summary = page[start : page.index("</div>", start)]
    assert '<a href="#name">Name</a>: Give it a name.' in summary
    assert '<a href="#alignments-0-target_url">Alignment 1: standard URL</a>' in summary
    assert 'id="name"' in page and 'id="alignments-0-target_url"' in page


def test_designing_and_uploading_at_once_is_refused(app, web, workspace) -> None:
    sign_in(web.client, workspace["editor"])
    data = {**NEW_FORM, **DESIGN, "image": (io.BytesIO(png()), "badge.png")}
    response = web.submit(workspace["base"] + "/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "Either design a badge or upload a file, not both." in response.get_data(as_text=True)
    assert (count(Achievement), count(Image)) == (0, 0)


def test_upload_chosen_without_a_file_is_refused(app, web, workspace) -> None:
    sign_in(web.client, workspace["editor"])
    response = web.submit(workspace["base"] + "/new", data={**NEW_FORM, "image_source": "upload"})
    assert response.status_code == 400
    error = re.search(r'<div id="image-error">(.*?)</div>', response.get_data(as_text=True), re.S)
    assert error and "Choose a file to upload" in error.group(1)
    assert count(Achievement) == 0


def test_a_file_chosen_while_make_from_the_name_is_ticked_is_the_image(app, web, workspace) -> None:
    # Without JavaScript every panel shows; a file chosen is taken as the wish to upload it.
    sign_in(web.client, workspace["editor"])
    picture = png()
    data = {**NEW_FORM, "image_source": "generate", "image": (io.BytesIO(picture), "b.png")}
    response = web.submit(workspace["base"] + "/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 303
    version = achievements.current_version(db.session.scalars(select(Achievement)).one())
    assert version.image is not None and version.image.data == picture


def test_a_preset_without_javascript_fills_the_colours_and_saves_nothing(
    app, web, workspace
) -> None:
    sign_in(web.client, workspace["editor"])
    data = {**NEW_FORM, **DESIGN, "image_source": "generate", "design_preset": "plum"}
    response = web.submit(workspace["base"] + "/new", data=data)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    _, background, border, text = PRESETS["plum"]
    assert f'id="design_background" name="design_background" value="{background}"' in page
    assert f'id="design_border" name="design_border" value="{border}"' in page
    assert f'id="design_text_colour" name="design_text_colour" value="{text}"' in page
    assert 'name="image_source" value="design" checked' in page
    preview = re.search(r'<img id="design-preview" src="([^"]+)"', page)
    assert (
        preview
        and "background=%235b3a7a" in preview.group(1)
        and "line1=Literacy" in preview.group(1)
    )
    assert count(Achievement) == 0


def test_add_another_alignment_without_javascript(app, web, workspace) -> None:
    sign_in(web.client, workspace["editor"])
    data = {**NEW_FORM, "add_alignment": "1"}
    response = web.submit(workspace["base"] + "/new", data=data)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    # The filled row, the blank one it had, and one more.
    assert 'name="alignments-2-target_name"' in page
    assert 'name="alignments-3-target_name"' not in page
    assert 'value="Analyst"' in page and "Criteria preview" not in page
    assert '<details class="more-details" id="alignments" open>' in page
    assert count(Achievement) == 0


def test_a_file_chosen_before_preview_is_kept(app, web, workspace) -> None:
    sign_in(web.client, workspace["editor"])
    data = {**NEW_FORM, "preview": "1", "image": (io.BytesIO(png()), "mine.png")}
    response = web.submit(workspace["base"] + "/new", data=data, content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'name="kept_image_name" value="mine.png"' in page
    assert count(Image) == 0


def test_types_have_human_labels_and_the_common_ones_come_first(app, web, workspace) -> None:
    assert set(ACHIEVEMENT_TYPE_LABELS) == set(ACHIEVEMENT_TYPES)
    assert set(ALIGNMENT_TYPE_LABELS) == set(ALIGNMENT_TARGET_TYPES)
    sign_in(web.client, workspace["editor"])
    page = web.get(workspace["base"] + "/new").get_data(as_text=True)
    assert '<option value="MicroCredential">Micro-credential</option>' in page
    assert '<option value="CFItem">Competency framework item</option>' in page
    assert '<option value="Badge" selected>Badge</option>' in page
    assert page.index('optgroup label="Most used"') < page.index('optgroup label="All types"')
    assert page.index('value="MicroCredential"') < page.index('value="Assessment"')


def test_more_details_open_only_when_something_in_them_is_set(
    app, web, workspace, make_achievement
) -> None:
    sign_in(web.client, workspace["editor"])
    page = web.get(workspace["base"] + "/new").get_data(as_text=True)
    assert '<details class="more-details">' in page  # folded on a new form
    assert '<details class="more-details" id="alignments">' in page
    achievement = make_achievement(workspace["issuer"], credits_available=2)
    edit = f"{workspace['base']}/{achievement.public_id}/edit"
    assert '<details class="more-details" open>' in web.get(edit).get_data(as_text=True)


def test_an_edit_keeps_the_image_unless_another_is_chosen(
    app, web, workspace, make_achievement
) -> None:
    achievement = make_achievement(workspace["issuer"])
    sign_in(web.client, workspace["editor"])
    edit = f"{workspace['base']}/{achievement.public_id}/edit"
    page = web.get(edit).get_data(as_text=True)
    assert 'name="image_source" value="keep" id="image_source" checked' in page
    version = achievements.current_version(achievement)
    values = {
        "name": version.name,
        "description": version.description,
        "criteria_markdown": version.criteria_markdown,
        **DESIGN,
    }
    assert web.submit(edit, data=values).status_code == 303
    assert achievements.current_version(achievement).image.media_type == "image/svg+xml"
    assert (
        db.session.scalar(
            select(AchievementVersion.version).order_by(AchievementVersion.id.desc()).limit(1)
        )
        == 2
    )


def test_the_list_and_the_detail_page_name_the_type_in_words(
    app, web, workspace, make_achievement
) -> None:
    achievement = make_achievement(workspace["issuer"], achievement_type="MicroCredential")
    sign_in(web.client, workspace["viewer"])
    detail = web.get(f"{workspace['base']}/{achievement.public_id}").get_data(as_text=True)
    assert "<dt>Type</dt><dd>Micro-credential</dd>" in detail
    listing = web.get(workspace["base"]).get_data(as_text=True)
    assert "Micro-credential · version 1" in listing
