"""Issue 12, scope 3: versions of a model side by side. The signature diff, the split of the
metrics between the 0..1 axis and the errors' own axis, the lineage graph and its parent
edges, who may compare what, and hostile or wrong query strings."""

import io
import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from onnx import TensorProto, helper

from registry import selectors, services
from registry.models import ModelVersion
from tests import factories


def compare_url(sam, *ids) -> str:
    query = "&".join(f"v={i}" for i in ids)
    return reverse("registry:version-compare", args=[sam.slug]) + (f"?{query}" if query else "")


def child(provider, parent, version, **fields):
    return factories.make_draft(provider, sam=parent.sam, version=version, parent=parent, **fields)


def score(metric, value, output="variable"):
    return {
        "inference_output_name": output,
        "performance_metric": metric,
        "performance_score": value,
    }


def chart_data(page: str, axis: str) -> dict:
    found = re.search(
        rf'<script id="chart-{axis}-data" type="application/json">(.*?)</script>', page
    )
    return json.loads(found.group(1))


# --- signature differences -----------------------------------------------------------------

BEFORE = {
    "inputs": [
        {"name": "input", "type": "float32", "shape": [None, 6],
         "feature_names": ["a", "b", "c"]},
        {"name": "mask", "type": "bool", "shape": [None]},
    ],
    "outputs": [{"name": "label", "type": "int64", "shape": [None], "classes": [0, 1]}],
    "estimator": "RandomForestClassifier",
}  # fmt: skip
AFTER = {
    "inputs": [
        {"name": "input", "type": "float64", "shape": [None, 8],
         "feature_names": ["a", "c", "d"]},
        {"name": "region", "type": "str", "shape": [None, 1]},
    ],
    "outputs": [
        {"name": "label", "type": "int64", "shape": [None], "classes": [0, 1]},
        {"name": "probabilities", "type": "float64", "shape": [None, 2]},
    ],
    "estimator": "GradientBoostingClassifier",
}  # fmt: skip


def test_the_signature_diff_names_what_was_added_removed_and_changed():
    diff = selectors.signature_diff(BEFORE, AFTER)

    by_name = {(c["direction"], c["name"]): c for c in diff["changes"]}
    assert set(by_name) == {
        ("input", "input"),
        ("input", "mask"),
        ("input", "region"),
        ("output", "probabilities"),
    }  # the label output did not change
    assert by_name["input", "mask"]["change"] == "removed"
    assert by_name["input", "mask"]["spec"] == "bool [?]"
    assert by_name["input", "region"]["change"] == "added"
    assert by_name["input", "region"]["spec"] == "str [?, 1]"
    assert by_name["output", "probabilities"]["change"] == "added"
    changed = {f["field"]: f for f in by_name["input", "input"]["fields"]}
    assert by_name["input", "input"]["change"] == "changed"
    assert set(changed) == {"type", "shape", "feature_names"}
    assert (changed["type"]["before"], changed["type"]["after"]) == ("float32", "float64")
    assert (changed["shape"]["before"], changed["shape"]["after"]) == ("[?, 6]", "[?, 8]")
    assert (changed["feature_names"]["added"], changed["feature_names"]["removed"]) == (
        ["d"],
        ["b"],
    )
    assert diff["other"] == [
        {
            "name": "estimator",
            "before": "RandomForestClassifier",
            "after": "GradientBoostingClassifier",
        }
    ]
    assert diff["missing"] == []


def test_the_signature_diff_of_equal_signatures_is_empty_and_a_missing_one_is_named():
    assert selectors.signature_diff(BEFORE, BEFORE) == {"changes": [], "other": [], "missing": []}
    assert selectors.signature_diff({}, AFTER)["missing"] == ["before"]
    reordered = {**BEFORE, "inputs": [{**BEFORE["inputs"][0], "feature_names": ["c", "b", "a"]}]}
    change = selectors.signature_diff(BEFORE, reordered)["changes"][0]["fields"][0]
    assert change["field"] == "feature_names" and change["reordered"] is True


@pytest.mark.parametrize(
    "odd", [None, [], "text", {"inputs": "x"}, {"inputs": [1, {"type": "float"}]}]
)
def test_the_signature_diff_survives_signatures_of_an_odd_shape(odd):
    diff = selectors.signature_diff(odd, BEFORE)

    assert diff["missing"] == ["before"]
    assert {c["change"] for c in diff["changes"]} == {"added"}


# --- metrics: scores on 0..1, errors on their own axis ---------------------------------------


def test_error_metrics_and_scores_outside_0_1_go_on_their_own_axis(provider):
    first = factories.make_draft(
        provider,
        performance=[score("ACCURACY", 0.8), score("F1", 0.7), score("MAE", 2.6),
                     score("R2", 0.4)],
    )  # fmt: skip
    second = child(
        provider,
        first,
        "1.1.0",
        performance=[score("ACCURACY", 0.9), score("MAE", 2.1), score("R2", -0.3),
                     score("RMSE", 3.2)],
    )  # fmt: skip
    versions = selectors.versions_to_compare(
        user=provider, sam=first.sam, version_ids=[second.pk, first.pk]
    )

    split = selectors.metric_comparison(versions)

    assert [v.pk for v in versions] == [first.pk, second.pk]  # oldest first: the baseline
    assert [r["metric"] for r in split["score"]] == ["ACCURACY", "F1"]
    # R2 is a score, but -0.3 would fall off a 0..1 axis.
    assert [r["metric"] for r in split["error"]] == ["MAE", "R2", "RMSE"]
    rows = {r["metric"]: r for r in split["score"] + split["error"]}
    assert rows["ACCURACY"]["cells"][1]["delta"] == pytest.approx(0.1)
    assert rows["ACCURACY"]["cells"][1]["trend"] == "better"
    assert rows["MAE"]["lower_is_better"] and rows["MAE"]["cells"][1]["trend"] == "better"
    assert rows["R2"]["cells"][1]["trend"] == "worse"
    assert rows["F1"]["scores"] == [0.7, None] and rows["F1"]["cells"][1]["delta"] is None
    assert rows["RMSE"]["scores"] == [None, 3.2]
    chart = selectors.metric_chart(versions, split["error"])
    assert chart == {
        "labels": ["MAE", "R2", "RMSE"],
        "series": [
            {"version": "1.0.0", "scores": [2.6, 0.4, None]},
            {"version": "1.1.0", "scores": [2.1, -0.3, 3.2]},
        ],
    }


def test_the_page_draws_each_axis_from_its_own_data(client, provider):
    first = factories.make_draft(provider, performance=[score("ACCURACY", 0.8), score("MAE", 2.6)])
    second = child(provider, first, "1.1.0", performance=[score("ACCURACY", 0.85),
                                                          score("MAE", 2.4)])  # fmt: skip
    client.force_login(provider)

    answer = client.get(compare_url(first.sam, first.pk, second.pk))

    page = answer.content.decode()
    assert answer.status_code == 200
    assert chart_data(page, "score")["labels"] == ["ACCURACY"]
    assert chart_data(page, "error") == {
        "labels": ["MAE"],
        "series": [
            {"version": "1.0.0", "scores": [2.6]},
            {"version": "1.1.0", "scores": [2.4]},
        ],
    }
    assert 'data-compare-chart="score"' in page and 'data-compare-chart="error"' in page
    assert 'src="/static/vendor/chartjs/chart.umd.min.js"' in page
    assert "cdn" not in page.lower()
    # The table fallback, with the change from the baseline.
    assert re.search(r'data-metric="MAE".*?2\.4 <span class="delta better">-0\.2', page, re.S)


# --- lineage as a graph ----------------------------------------------------------------------


def test_the_lineage_graph_has_an_edge_for_each_parent_link(provider):
    root = factories.make_draft(provider)
    minor = child(provider, root, "1.1.0")
    patch = child(provider, minor, "1.1.1")
    branch = child(provider, root, "2.0.0")
    family = list(ModelVersion.objects.filter(sam=root.sam))

    graph = selectors.lineage_graph(sam=root.sam, visible=family, highlighted=[root.pk, branch.pk])

    edges = {(e["parent"].pk, e["child"].pk): e for e in graph["edges"]}
    assert set(edges) == {(root.pk, minor.pk), (minor.pk, patch.pk), (root.pk, branch.pk)}
    assert edges[root.pk, branch.pk]["compared"] and not edges[root.pk, minor.pk]["compared"]
    assert not any(e["indirect"] for e in graph["edges"])
    at = {n["version"].pk: (n["x"], n["y"]) for n in graph["nodes"]}
    # A generation per column; the first child on its parent's row, the branch below.
    assert at[root.pk][1] == at[minor.pk][1] == at[patch.pk][1] < at[branch.pk][1]
    assert at[root.pk][0] < at[minor.pk][0] == at[branch.pk][0] < at[patch.pk][0]
    assert {n["version"].pk for n in graph["nodes"] if n["compared"]} == {root.pk, branch.pk}


def test_a_loop_of_parent_links_written_in_the_database_still_draws(provider):
    # No service makes one (the parent is fixed at creation); a hand-edited database might.
    first = factories.make_draft(provider)
    second = child(provider, first, "1.1.0")
    lonely = factories.make_draft(provider, sam=first.sam, version="9.0.0")
    ModelVersion.objects.filter(pk=first.pk).update(parent=second)
    ModelVersion.objects.filter(pk=lonely.pk).update(parent=lonely)

    graph = selectors.lineage_graph(
        sam=first.sam, visible=ModelVersion.objects.filter(sam=first.sam)
    )

    assert {n["version"].pk for n in graph["nodes"]} == {first.pk, second.pk, lonely.pk}
    edges = {(e["parent"].pk, e["child"].pk) for e in graph["edges"]}
    assert edges == {(first.pk, second.pk), (second.pk, first.pk)}


def test_the_page_draws_the_graph_with_the_parent_edges_and_the_compared_versions(client, provider):
    root = factories.make_draft(provider)
    minor = child(provider, root, "1.1.0")
    other = child(provider, root, "2.0.0")
    client.force_login(provider)

    page = client.get(compare_url(root.sam, root.pk, minor.pk)).content.decode()

    svg = re.search(r'<svg class="lineage-graph".*?</svg>', page, re.S).group(0)
    assert f'data-parent="{root.pk}" data-child="{minor.pk}"' in svg
    assert f'data-parent="{root.pk}" data-child="{other.pk}"' in svg
    assert f'class="lineage-node compared" data-version="{minor.pk}"' in svg
    assert f'class="lineage-node" data-version="{other.pk}"' in svg
    assert "style=" not in svg  # the CSP allows no inline style


def test_a_hidden_parent_is_skipped_to_the_nearest_visible_ancestor(
    client, provider, auditor, consumer
):
    released = factories.release(factories.make_draft(provider), provider, auditor)
    draft = child(provider, released, "1.1.0")
    grandchild = factories.release(child(provider, draft, "1.2.0"), provider, auditor)
    client.force_login(consumer)

    page = client.get(compare_url(released.sam, released.pk, grandchild.pk)).content.decode()

    assert f'data-parent="{released.pk}" data-child="{grandchild.pk}"' in page
    assert 'class="lineage-edge indirect compared"' in page
    assert f'data-version="{draft.pk}"' not in page and "1.1.0" not in page


# --- who may compare what --------------------------------------------------------------------


def test_a_consumer_compares_released_versions_but_a_hidden_one_is_not_found(
    client, provider, auditor, consumer
):
    first = factories.release(factories.make_draft(provider), provider, auditor)
    second = factories.release(child(provider, first, "1.1.0"), provider, auditor)
    draft = child(provider, second, "1.2.0")
    client.force_login(consumer)

    assert client.get(compare_url(first.sam, first.pk, second.pk)).status_code == 200
    hidden = client.get(compare_url(first.sam, first.pk, draft.pk))
    assert hidden.status_code == 404
    assert "1.2.0" not in hidden.content.decode()
    # The picker offers only what the consumer sees.
    picker = client.get(compare_url(first.sam)).content.decode()
    assert f'value="{second.pk}"' in picker and f'value="{draft.pk}"' not in picker


def test_the_provider_and_an_auditor_compare_drafts_an_outsider_does_not(
    client, provider, auditor, other_provider
):
    first = factories.make_draft(provider)
    second = child(provider, first, "1.1.0")
    url = compare_url(first.sam, first.pk, second.pk)

    for user, status in ((provider, 200), (auditor, 200), (other_provider, 404)):
        client.force_login(user)
        assert client.get(url).status_code == status, user.username


def test_it_sends_anonymous_visitors_to_sign_in(client, provider):
    first = factories.make_draft(provider)

    answer = client.get(compare_url(first.sam, first.pk))

    assert answer.status_code == 302 and answer.url.startswith(reverse("core:login"))


# --- what the query string may hold ----------------------------------------------------------


@pytest.fixture
def pair(provider):
    first = factories.make_draft(provider)
    return first, child(provider, first, "1.1.0")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("v=abc&v={second}", "“abc” is not a version id."),
        ("v=1.5&v={second}", "“1.5” is not a version id."),
        ("v=-3&v={second}", "“-3” is not a version id."),
        ("v=0&v={second}", "“0” is not a version id."),
        ("v=%D9%A1&v={second}", "is not a version id."),  # an Arabic-Indic digit one
        ("v=" + "9" * 30 + "&v={second}", "“99999999999999999999…” is not a version id."),
        ("v=9223372036854775808&v={second}", "is not a version id."),  # 2**63
        ("v={first}", "Choose at least two versions to compare."),
        ("v={first}&v={first}", "Choose at least two versions to compare."),
        ("v=", "Choose at least two versions to compare."),
        ("other=1", "Choose at least two versions to compare."),
        ("v=1&v=2&v=3&v=4&v=5&v=6&v=7", "Choose at most 6 versions to compare at once."),
    ],
)
def test_bad_query_strings_are_answered_400_with_the_reason(client, provider, pair, query, message):
    first, second = pair
    client.force_login(provider)
    url = reverse("registry:version-compare", args=[first.sam.slug])

    answer = client.get(f"{url}?{query.format(first=first.pk, second=second.pk)}")

    assert answer.status_code == 400
    assert message in answer.content.decode()
    assert 'id="compare-form"' in answer.content.decode()  # the picker, to choose again


def test_a_version_of_another_model_is_refused_with_400(client, provider, pair):
    first, _ = pair
    elsewhere = factories.make_draft(provider, version="3.0.0")
    client.force_login(provider)

    answer = client.get(compare_url(first.sam, first.pk, elsewhere.pk))

    assert answer.status_code == 400
    assert f"is a version of {elsewhere.sam.name}, not of {first.sam.name}" in (
        answer.content.decode()
    )


def test_an_unknown_id_and_an_unknown_model_are_not_found(client, provider, pair):
    first, second = pair
    client.force_login(provider)

    assert client.get(compare_url(first.sam, first.pk, 987654321)).status_code == 404
    missing = reverse("registry:version-compare", args=["no-such-model"]) + f"?v={first.pk}"
    assert client.get(missing).status_code == 404


def test_without_a_choice_the_page_offers_the_picker_and_the_graph(client, provider, pair):
    first, second = pair
    client.force_login(provider)

    answer = client.get(compare_url(first.sam))

    page = answer.content.decode()
    assert answer.status_code == 200
    assert f'value="{first.pk}"' in page and f'value="{second.pk}"' in page
    assert f'data-parent="{first.pk}" data-child="{second.pk}"' in page
    assert "compare-metrics" not in page


def test_a_model_with_one_visible_version_says_there_is_nothing_to_compare(client, provider):
    only = factories.make_draft(provider)
    client.force_login(provider)

    page = client.get(compare_url(only.sam)).content.decode()

    assert 'id="nothing-to-compare"' in page and 'id="compare-submit"' not in page


def test_the_page_reads_as_many_queries_for_six_versions_as_for_two(
    client, provider, django_assert_max_num_queries
):
    versions = [factories.make_draft(provider, performance=[score("ACCURACY", 0.8)])]
    for minor in range(1, 6):
        versions.append(child(provider, versions[-1], f"1.{minor}.0"))
    client.force_login(provider)
    sam = versions[0].sam
    with CaptureQueriesContext(connection) as two:
        assert client.get(compare_url(sam, versions[0].pk, versions[1].pk)).status_code == 200

    with django_assert_max_num_queries(len(two)):
        assert client.get(compare_url(sam, *[v.pk for v in versions])).status_code == 200


# --- the whole page, with real model files ---------------------------------------------------


def tiny_onnx(inputs, outputs) -> bytes:
    """An ONNX model passing each named input through to an output (Identity)."""
    graph = helper.make_graph(
        [
            helper.make_node("Identity", [i], [o])
            for (i, *_), (o, *_) in zip(inputs, outputs, strict=True)
        ],
        "tiny",
        [helper.make_tensor_value_info(name, kind, shape) for name, kind, shape in inputs],
        [helper.make_tensor_value_info(name, kind, shape) for name, kind, shape in outputs],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    return model.SerializeToString()


def test_the_page_compares_signatures_and_training_contexts_of_uploaded_files(client, provider):
    first = factories.make_draft(
        provider, training_context={"dataset": "KPIs 2024", "period": {"from": "Q1", "to": "Q2"}}
    )
    second = child(
        provider,
        first,
        "1.1.0",
        training_context={"dataset": "KPIs 2024", "period": {"from": "Q1", "to": "Q3"}},
    )
    uploads = {
        first: tiny_onnx([("x", TensorProto.FLOAT, [None, 4])], [("y", TensorProto.FLOAT, [None, 4])]),
        second: tiny_onnx(
            [("x", TensorProto.DOUBLE, [None, 6]), ("z", TensorProto.FLOAT, [None, 2])],
            [("y", TensorProto.DOUBLE, [None, 6]), ("w", TensorProto.FLOAT, [None, 2])],
        ),
    }  # fmt: skip
    for version, content in uploads.items():
        services.version_artifact_upload(
            version_id=version.pk, user=provider, stream=io.BytesIO(content), filename="t.onnx"
        )
    client.force_login(provider)

    page = client.get(compare_url(first.sam, first.pk, second.pk)).content.decode()

    diff = re.search(r'<section[^>]*class="signature-diff".*?</section>', page, re.S).group(0)
    rows = dict(re.findall(r'data-name="(\w+)" data-change="(\w+)"', diff))
    assert rows == {"x": "changed", "y": "changed", "z": "added", "w": "added"}
    assert '<li data-field="type">type: <span class="mono">float32</span> → ' in diff
    assert '[?, 4]</span> → <span class="mono">[?, 6]' in diff
    context = re.search(r'id="compare-context".*?</section>', page, re.S).group(0)
    assert '<tr class="differs" data-key="period.to">' in context
    assert '<tr data-key="dataset">' in context and '<tr data-key="period.from">' in context


def test_the_model_page_links_to_the_comparison(client, provider, pair):
    first, second = pair
    client.force_login(provider)

    page = client.get(reverse("registry:model-detail", args=[first.sam.slug])).content.decode()

    assert f'href="{compare_url(first.sam)}" id="compare-versions"' in page
    assert f'href="{compare_url(first.sam, first.pk, second.pk).replace("&", "&amp;")}"' in page
