"""A version's monitoring page in a real browser (issue 10, scope 5): the vendored Chart.js
draws the accuracy measured from real inferences with ground truth, per period, with the
subscriber's threshold and the inference counts; without JavaScript the same figures are in
the table."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from monitoring import services
from sharing import services as sharing_services
from sharing.models import InferenceRecord
from tests import factories
from tests.browser_helpers import sign_in
from tests.monitoring.conftest import infer_with_truth

# What the page's script drew, read from Chart.js itself: each dataset's label and values, and
# the accuracy line's points as laid out on the canvas.
CHART_STATE = """() => {
  const canvas = document.getElementById("accuracy-chart");
  const chart = Chart.getChart(canvas);
  if (!chart) return null;
  const area = chart.chartArea;
  return {
    datasets: chart.data.datasets.map((d) => ({label: d.label, type: d.type, data: d.data})),
    labels: chart.data.labels.length,
    points: chart.getDatasetMeta(0).data
      .map((point, index) => ({index: index, x: point.x, y: point.y, skip: point.skip}))
      .filter((point) => !point.skip),
    area: {left: area.left, right: area.right, top: area.top, bottom: area.bottom},
  };
}"""

# How much of the canvas is painted, and how much of it in the accuracy line's colour
# (#1f5fa8): a blank canvas has neither.
CANVAS_INK = """() => {
  const canvas = document.getElementById("accuracy-chart");
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0, line = 0;
  for (let i = 0; i < pixels.length; i += 4) {
    if (pixels[i + 3] === 0) continue;
    painted++;
    if (Math.abs(pixels[i] - 31) < 24 && Math.abs(pixels[i + 1] - 95) < 24
        && Math.abs(pixels[i + 2] - 168) < 24 && pixels[i + 3] > 200) line++;
  }
  return {painted: painted, line: line, width: canvas.width, height: canvas.height};
}"""


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_accuracy_chart_is_drawn_from_the_measurement_and_the_table_holds_it_without_js(
    live_server, page, loopback_callbacks
):
    from playwright.sync_api import expect

    organisation = factories.make_organisation("North Operator")
    provider = factories.make_user("provider", organisation=organisation, username="provider")
    auditor = factories.make_user("auditor", username="auditor")
    version = factories.make_version_in(
        "RELEASED", provider=provider, auditor=auditor, kind="skops"
    )
    consumer = factories.make_user("consumer", username="consumer")
    sharing_services.subscription_request(user=consumer, sam=version.sam, method="INFERENCE")
    services.monitor_subscription_create(
        user=consumer, version_ids=[version.pk], notification_uri="http://127.0.0.1:9/n",
        notif_corr_id="north", accuracy_threshold=80,
    )  # fmt: skip
    # Two days ago every answer was right; in the last hours 6 of 8 are.
    infer_with_truth(version, consumer, right=4, wrong=0, batch=2)
    InferenceRecord.objects.update(created_at=timezone.now() - timedelta(days=2))
    infer_with_truth(version, consumer, right=6, wrong=2, batch=4)

    sign_in(page, live_server.url, "provider")
    page.goto(f"{live_server.url}/versions/{version.pk}/monitoring/")
    expect(page.locator("#accuracy-chart")).to_have_attribute("data-rendered", "true")

    state = page.evaluate(CHART_STATE)
    assert state is not None, "Chart.js holds no chart for the canvas"
    accuracy, threshold, inferences = state["datasets"]
    assert (accuracy["label"], threshold["label"], inferences["label"]) == (
        "Accuracy (%)",
        "Threshold 80 %",
        "Inferences",
    )
    assert state["labels"] == 24
    assert [a for a in accuracy["data"] if a is not None] == [100, 75]
    assert accuracy["data"][-1] == 75 and inferences["data"][-1] == 8
    assert sum(inferences["data"]) == 12
    assert set(threshold["data"]) == {80}
    # The two measured periods are points inside the plot, 75 % lower than 100 %.
    old, recent = state["points"]
    area = state["area"]
    for point in (old, recent):
        assert area["left"] <= point["x"] <= area["right"]
        assert area["top"] <= point["y"] <= area["bottom"]
    assert old["x"] < recent["x"] and old["y"] < recent["y"]
    ink = page.evaluate(CANVAS_INK)
    assert ink["width"] > 300 and ink["height"] > 200, ink
    assert ink["painted"] > 0.02 * ink["width"] * ink["height"], ink  # not blank
    assert ink["line"] > 50, ink  # the accuracy line is drawn

    # The same page without JavaScript: no chart, the figures in the table, the thresholds in
    # the canvas' text.
    bare = page.context.browser.new_context(java_script_enabled=False)
    try:
        bare.add_cookies(page.context.cookies())
        plain = bare.new_page()
        plain.goto(f"{live_server.url}/versions/{version.pk}/monitoring/")
        expect(plain.locator("#accuracy-chart")).not_to_have_attribute("data-rendered", "true")
        rows = plain.locator("#series tbody tr")
        expect(rows).to_have_count(2)
        cells = [rows.nth(i).locator("td").all_inner_texts() for i in range(2)]
        assert [(c[2], c[3], c[4]) for c in cells] == [("4", "4", "100 %"), ("8", "8", "75 %")]
        assert re.search(r"thresholds: 80 %", plain.locator("#accuracy-chart").text_content())
    finally:
        bare.close()
