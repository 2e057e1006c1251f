"""Issue 7, item 5: a crafted skops gradient-boosting model crashed the web worker (SIGSEGV).

The old tree check validated each inner tree against its own estimator's n_features_in_, which
the file controls. Every file here is a real model (gradient boosting, bagging, stacking,
pipelines of them), dumped with skops and tampered inside the zip. scikit-learn itself crashes
on the first ones (shown in a throw-away process); SAM Hub must refuse all of them at upload,
and must never load such a file in the web process, even one already in the warehouse."""

import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from sklearn.ensemble import (
    BaggingClassifier,
    BaggingRegressor,
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    RandomForestClassifier,
    StackingClassifier,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

from registry.models import ModelVersion
from sharing import services as sharing_services
from sharing.models import InferenceOutcome, InferenceRecord
from tests import factories
from tests.security import hostile_models as hostile

FEATURES = 6
BOOSTING = {"GradientBoostingClassifier", "GradientBoostingRegressor"}
BAGGING = {"BaggingClassifier", "BaggingRegressor"}


def _data():
    x = np.random.default_rng(5).normal(size=(150, FEATURES))
    return x, x[:, 0] + 0.5 * x[:, 1], (x[:, 0] > 0).astype(int), np.digitize(x[:, 1], [-0.5, 0.5])


def _gradient_boosting():
    x, y, _, _ = _data()
    return GradientBoostingRegressor(n_estimators=4, max_depth=2, random_state=0).fit(x, y)


def _gradient_boosting_multiclass():
    x, _, _, classes = _data()
    return GradientBoostingClassifier(n_estimators=3, max_depth=2, random_state=0).fit(x, classes)


def _bagging():
    x, _, label, _ = _data()
    tree = DecisionTreeClassifier(max_depth=3, random_state=0)
    return BaggingClassifier(tree, n_estimators=4, max_features=0.5, random_state=0).fit(x, label)


def _bagging_of_gradient_boosting():
    x, y, _, _ = _data()
    boosting = GradientBoostingRegressor(n_estimators=3, max_depth=2, random_state=0)
    return BaggingRegressor(boosting, n_estimators=3, max_features=0.5, random_state=0).fit(x, y)


def _stacking():
    x, _, label, _ = _data()
    return StackingClassifier(
        [
            ("boosting", GradientBoostingClassifier(n_estimators=3, max_depth=2, random_state=0)),
            ("forest", RandomForestClassifier(n_estimators=3, max_depth=2, random_state=0)),
        ],
        final_estimator=GradientBoostingClassifier(n_estimators=3, max_depth=2, random_state=0),
    ).fit(x, label)


def _pipeline_of_gradient_boosting():
    x, y, _, _ = _data()
    return make_pipeline(
        StandardScaler(), GradientBoostingRegressor(n_estimators=4, max_depth=2, random_state=0)
    ).fit(x, y)


def _pipeline_of_bagging():
    x, _, label, _ = _data()
    tree = DecisionTreeClassifier(max_depth=3, random_state=0)
    return make_pipeline(
        StandardScaler(), BaggingClassifier(tree, n_estimators=4, max_features=0.5, random_state=0)
    ).fit(x, label)


# (builder, the ensembles whose inner trees are tampered, whether scikit-learn segfaults on it)
CRAFTED = {
    "gradient-boosting": (_gradient_boosting, BOOSTING, True),
    "gradient-boosting-multiclass": (_gradient_boosting_multiclass, BOOSTING, True),
    "bagging": (_bagging, BAGGING, False),
    "bagging-of-gradient-boosting": (_bagging_of_gradient_boosting, BOOSTING, True),
    "stacking-of-gradient-boosting": (_stacking, BOOSTING, True),
    "pipeline-of-gradient-boosting": (_pipeline_of_gradient_boosting, BOOSTING, True),
    "pipeline-of-bagging": (_pipeline_of_bagging, BAGGING, False),
}


def _crafted(kind: str) -> bytes:
    build, ensembles, _ = CRAFTED[kind]
    return hostile.inner_trees_beyond_input(hostile.dumps(build()), ensembles)


_PREDICT_IN_A_THROWAWAY_PROCESS = textwrap.dedent(
    """
    import sys
    import numpy as np
    import skops.io as sio

    content = open(sys.argv[1], "rb").read()
    model = sio.loads(content, trusted=sio.get_untrusted_types(data=content))
    model.predict(np.zeros((3, model.n_features_in_)))
    """
)


@pytest.mark.parametrize("kind", [kind for kind, (_, _, crashes) in CRAFTED.items() if crashes])
def test_the_crafted_file_really_crashes_scikit_learn(kind, tmp_path):
    """Evidence that the files below are the attack: plain skops + scikit-learn die of SIGSEGV
    on them (in a child process, so the test run survives)."""
    path = tmp_path / "crafted.skops"
    path.write_bytes(_crafted(kind))

    died = subprocess.run(
        [sys.executable, "-c", _PREDICT_IN_A_THROWAWAY_PROCESS, str(path)],
        capture_output=True,
        timeout=120,
    )

    assert died.returncode == -signal.SIGSEGV


@pytest.mark.parametrize("kind", list(CRAFTED))
def test_it_refuses_an_ensemble_whose_inner_trees_claim_their_own_feature_count(
    kind, provider, settings
):
    draft = factories.make_draft(provider)

    answer = hostile.put_artifact(provider, draft, _crafted(kind), "ensemble.skops")

    assert answer.status_code == 400, answer.content
    assert answer.json()["code"] == "artifact_refused"
    assert "Nothing was stored" in answer.json()["detail"]
    fresh = ModelVersion.objects.get(pk=draft.pk)
    assert (fresh.artifact_sha256, fresh.artifact_loaded_bytes) == ("", None)


@pytest.mark.parametrize("kind", list(CRAFTED))
def test_the_same_ensembles_untampered_are_accepted_and_answer(kind, provider, auditor, consumer):
    build, _, _ = CRAFTED[kind]
    estimator = build()
    version = hostile.released(provider, auditor, hostile.dumps(estimator), "ensemble.skops")
    sharing_services.subscription_request(user=consumer, sam=version.sam, method="INFERENCE")
    rows = _data()[0][:3]

    answer = hostile.infer(consumer, version, {"input": rows.tolist()})

    assert answer.status_code == 200, answer.content
    (first_output,) = list(answer.json()["outputs"].values())[:1]
    assert np.allclose(first_output, estimator.predict(rows))
    assert version.artifact_loaded_bytes > 0


def test_it_refuses_a_boosting_model_with_more_trees_per_stage_than_predictions(provider):
    """predict_stages() adds tree k of a stage into column k of the initial prediction without
    bounds checks: a binary model claiming two trees per stage writes past that array."""
    x, _, label, _ = _data()
    model = GradientBoostingClassifier(n_estimators=3, max_depth=2, random_state=0).fit(x, label)
    crafted = hostile.boosting_stages_widened(hostile.dumps(model))
    draft = factories.make_draft(provider)

    answer = hostile.put_artifact(provider, draft, crafted, "boosting.skops")

    assert answer.status_code == 400, answer.content
    assert "trees per stage" in answer.json()["detail"]


def test_it_refuses_bagging_feature_subsets_beyond_the_input(provider):
    crafted = hostile.bagged_features_out_of_range(hostile.dumps(_bagging()))
    draft = factories.make_draft(provider)

    answer = hostile.put_artifact(provider, draft, crafted, "bagging.skops")

    assert answer.status_code == 400, answer.content
    assert "feature subsets out of range" in answer.json()["detail"]


def test_a_crafted_file_already_in_the_warehouse_never_runs_in_the_web_process(
    provider, auditor, consumer
):
    """A file stored before this fix (the old check accepted it) is unmeasured: the web process
    refuses to load it, the call is metered as an ERROR, and the process lives on. The operator's
    re-check in the checker process refuses it too, so it stays unloadable."""
    from django.core.management import CommandError, call_command

    honest = hostile.dumps(_gradient_boosting())
    version = hostile.released(provider, auditor, honest, "boosting.skops")
    sharing_services.subscription_request(user=consumer, sam=version.sam, method="INFERENCE")
    version = hostile.stored_before_measurement(version, _crafted("gradient-boosting"), "skops")

    answer = hostile.infer(consumer, version, {"input": [[0.0] * FEATURES]})

    assert answer.status_code == 500
    assert answer.json()["code"] == "model_error"
    record = InferenceRecord.objects.get(version=version)
    assert record.outcome == InferenceOutcome.ERROR
    assert "not been measured" in record.error  # the caller gets the generic 500 text
    with pytest.raises(CommandError, match="could not be measured"):
        call_command("artifacts_measure")
    assert ModelVersion.objects.get(pk=version.pk).artifact_loaded_bytes is None
    again = hostile.infer(consumer, version, {"input": [[0.0] * FEATURES]})
    assert again.status_code == 500
    assert (
        InferenceRecord.objects.filter(version=version, outcome=InferenceOutcome.ERROR).count() == 2
    )
