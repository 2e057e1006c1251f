"""The admin drives the audit workflow in a real browser: an operator corrects and resubmits a
rejected version (ENI SAM clause 5, step 2: "the operation and maintenance manager will modify
the information again"), an auditor approves it with a note, the operator registers and
releases it (steps 3-5); every step is in the version's log on its admin page, with its actor."""

import pytest

from tests import factories
from tests.browser_helpers import sign_in, sign_out


def admin_message(page, text: str) -> None:
    page.locator("ul.messagelist li", has_text=text).wait_for()


def take_step(page, name: str, **fields) -> None:
    """Press the step's button on the version page, fill its form, and take it."""
    page.click(f"#step-{name}")
    for selector, value in fields.items():
        if page.locator(f"select#{selector}").count():
            page.select_option(f"#{selector}", value)
        else:
            page.fill(f"#{selector}", value)
    page.click("#take-step")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_operators_and_an_auditor_carry_a_rejected_version_to_the_catalog_in_the_admin(
    live_server, page
):
    from playwright.sync_api import expect

    organisation = factories.make_organisation("North Operator")
    provider = factories.make_user("provider", organisation=organisation, username="provider")
    auditor = factories.make_user("auditor", username="auditor", is_staff=True)
    factories.make_user("auditor", username="auditor2", is_staff=True)
    factories.make_user("operator", username="operator", is_staff=True)
    version = factories.make_version_in("REJECTED", provider=provider, auditor=auditor)
    base = live_server.url
    version_page = f"{base}/admin/registry/modelversion/{version.pk}/change/"
    log = page.locator("#transitions-group tbody tr.has_original")

    # The operator corrects the rejected version and resubmits it, as theirs.
    sign_in(page, base, "operator")
    page.goto(version_page)
    expect(page.locator("#site-name")).to_contain_text("SAM Hub administration")
    expect(page.locator(".stepper .branch.current")).to_have_text("↳ Rejected")
    expect(page.locator("#reviews-group")).to_contain_text("Say which cells it was not tested on.")
    take_step(page, "revise")
    admin_message(page, "is now Draft")
    page.fill("#id_release_notes", "Limitations now say it was not tested on rural cells.")
    page.click("input[name=_continue]")
    admin_message(page, "was changed successfully")
    page.click("#edit-model-fields")
    page.fill("#id_limitations", "Not tested on rural cells.")
    page.click("input[name=_save]")
    admin_message(page, "was changed successfully")
    page.goto(version_page)
    take_step(page, "submit")
    admin_message(page, "is now Submitted for audit")
    expect(page.locator("#lifecycle .button")).to_have_count(0)  # operators never audit
    page.goto(base + "/")
    sign_out(page)

    # Another auditor approves it with a note, in the admin.
    sign_in(page, base, "auditor2")
    page.goto(version_page)
    expect(page.locator(".stepper .step.current .step-label")).to_have_text("Submitted")
    take_step(page, "approve", id_note="Limitations are precise now.")
    admin_message(page, "is now Approved")
    page.goto(base + "/")
    sign_out(page)

    # The operator registers and releases it.
    sign_in(page, base, "operator")
    page.goto(version_page)
    take_step(page, "register", id_access_type="MODEL_FILE")
    admin_message(page, "is now Registered")
    take_step(page, "release")
    admin_message(page, "is now Released")
    expect(page.locator(".stepper .step.current .step-label")).to_have_text("Released")

    # Every step is in the version's log on its admin page, with who took it and why.
    rows = [" ".join(log.nth(i).inner_text().split()) for i in range(log.count())]
    expected = [
        ("submit", "provider"),
        ("reject", "auditor"),
        ("revise", "operator"),
        ("submit", "operator"),
        ("approve", "auditor2"),
        ("register", "operator"),
        ("release", "operator"),
    ]
    assert len(rows) == len(expected), rows
    for row, (name, actor) in zip(rows, expected, strict=True):
        assert f" {name} " in f" {row} " and f" {actor} " in f" {row} ", row
    assert "Limitations are precise now." in rows[4]
