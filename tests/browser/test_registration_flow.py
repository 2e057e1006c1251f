"""The whole ENI SAM flow in a real browser: sign a model in with its model file, audit it
(reject, revise, approve the file's sha256), register the approved file, release, and find the
version in the catalog."""

import hashlib

import pytest

from tests import factories
from tests.browser_helpers import expect_message, sign_in, sign_out


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_model_goes_from_registration_to_the_catalog(live_server, page, tmp_path):
    from playwright.sync_api import expect

    organisation = factories.make_organisation("North Operator")
    factories.make_user("provider", organisation=organisation, username="provider")
    factories.make_user("auditor", username="auditor")
    onnx_file = tmp_path / "cell-load-forecast.onnx"
    onnx_file.write_bytes(factories.demo_model("onnx").content)
    onnx_sha256 = hashlib.sha256(onnx_file.read_bytes()).hexdigest()
    base = live_server.url

    # The stylesheets are local and served by the live server (the stepper's is shared with
    # the admin).
    css = page.request.get(base + "/static/css/samhub.css")
    assert css.status == 200 and 'url("stepper.css")' in css.text()
    css = page.request.get(base + "/static/css/stepper.css")
    assert css.status == 200 and ".stepper" in css.text()

    # Provider signs the model in with its first version and its file, and submits it: the
    # file is part of what is audited.
    sign_in(page, base, "provider")
    page.click("nav >> text=My models")
    page.click("#register-new-model")
    page.fill("#id_name", "Cell load forecast")
    page.fill("#id_description", "Predicts next-hour PRB load of a cell from its KPIs.")
    page.select_option("#id_inference_type", "NWDAF_ANALYTICS")
    page.fill("#id_inference_name", "NF_LOAD")
    page.fill("#id_domain", "RAN")
    page.fill("#id_region", "North")
    page.fill("#id_scenario", "Energy saving")
    page.fill("#id_tags", "load, forecast")
    page.fill("#id_licence", "Apache-2.0")
    page.fill("#id_intended_use", "Forecast cell load one hour ahead.")
    page.fill("#id_limitations", "Synthetic data.")
    page.fill("#id_version", "1.0.0")
    page.fill("#id_release_notes", "First release.")
    page.fill("#id_training_context", '{"dataset": "synthetic hourly KPIs"}')
    page.fill("#id_perf-0-inference_output_name", "variable")
    page.fill("#id_perf-0-performance_metric", "MAE")
    page.fill("#id_perf-0-performance_score", "2.4")
    page.fill("#id_perf-1-inference_output_name", "variable")
    page.fill("#id_perf-1-performance_metric", "R2")
    page.fill("#id_perf-1-performance_score", "0.94")
    page.set_input_files("#id_artifact", str(onnx_file))
    page.click("#save-model")
    expect_message(page, "is created as a DRAFT")
    expect(page.locator(".version-panel .badge").first).to_have_text("DRAFT")
    model_url = page.url.split("#")[0]
    page.click("button[id^=action-submit-]")
    expect_message(page, "is now Submitted for audit")
    sign_out(page)

    # Auditor rejects it, naming the field that fails; the navigation counts their queue.
    sign_in(page, base, "auditor")
    expect(page.locator("#badge-audit")).to_have_text("1 waiting")
    page.click("nav >> text=Audit queue")
    page.click("#audit-queue a:has-text('Audit')")
    expect(page.locator("#checklist")).to_be_visible()
    page.fill("#id_reason", "The limitations say too little.")
    page.select_option("#id_findings-0-field", "limitations")
    page.fill("#id_findings-0-message", "Say which cell types it was never tested on.")
    page.click("#reject")
    expect_message(page, "is rejected")
    sign_out(page)

    # Provider is told in their notices, follows the notice to the finding, revises the field
    # and resubmits.
    sign_in(page, base, "provider")
    expect(page.locator("#badge-notices")).to_have_text("1 unread")
    page.click("nav >> text=Notices")
    notice = page.locator("#notices li", has_text="was rejected by the audit")
    expect(notice).to_contain_text("Say which cell types it was never tested on.")
    notice.locator("h2 a").click()
    page.wait_for_url(model_url + "#v-*")
    expect(page.locator("#badge-notices")).to_have_count(0)  # opening it read it
    expect(page.locator(".finding-text")).to_have_text(
        "Say which cell types it was never tested on."
    )
    page.click("button[id^=action-revise-]")
    expect_message(page, "is now Draft")
    page.click("a[id^=action-edit-]")
    finding = page.locator("#field-limitations .finding")
    expect(finding).to_contain_text("Say which cell types it was never tested on.")
    page.fill(
        "#id_limitations", "Synthetic urban cells only; never tested on rural or indoor cells."
    )
    page.click("#save-edit")
    expect_message(page, "is saved")
    page.click("button[id^=action-submit-]")
    expect_message(page, "is now Submitted for audit")
    sign_out(page)

    # Auditor approves the revision.
    sign_in(page, base, "auditor")
    page.click("nav >> text=Audit queue")
    page.click("#audit-queue a:has-text('Audit')")
    expect(page.locator("#row-limitations")).to_contain_text("never tested on rural")
    expect(page.locator("#approve-sha256")).to_contain_text(onnx_sha256)
    page.fill("#id_note", "Findings addressed.")
    page.click("#approve")
    expect_message(page, "is approved")
    sign_out(page)

    # Provider registers the approved ONNX file in the warehouse (no file can be given any
    # more), then releases it.
    sign_in(page, base, "provider")
    page.goto(model_url)
    expect(page.locator("[id^=approved-sha256-]")).to_have_text(onnx_sha256)
    register_form = page.locator("form[id^=register-form-]")
    expect(register_form.locator("input[type=file]")).to_have_count(0)
    register_form.locator("select").select_option("MODEL_FILE")
    register_form.locator("button[type=submit]").click()
    expect_message(page, "is registered (Model file in the warehouse)")
    expect(page.locator(".version-panel .version-head .badge")).to_have_text("REGISTERED")
    expect(page.locator("table.signature")).to_be_visible()
    page.click("button[id^=action-release-]")
    expect_message(page, "is now Released")

    # Anyone signed in finds it in the catalog.
    page.click("nav >> text=Catalog")
    card = page.locator(".model-card", has_text="Cell load forecast")
    expect(card).to_be_visible()
    expect(card).to_contain_text("v1.0.0")
    expect(card).to_contain_text("North Operator")
    expect(card.locator(".bar-fill")).to_have_count(2)
    topbar = page.locator(".topbar").evaluate("e => getComputedStyle(e).backgroundColor")
    assert topbar == "rgb(15, 27, 45)", "the local stylesheet is applied"
    screenshot = tmp_path / "catalog.png"
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.exists() and screenshot.stat().st_size > 0
