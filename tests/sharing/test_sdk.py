"""The SDK wheel (ENI SAM clause 6.1, module embedded reference): built for the released demo
models, installed by pip into a fresh virtual environment with no network, imported there, and
predicting what the model itself predicts."""

import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from email.parser import Parser
from pathlib import Path

import numpy as np
import onnxruntime
import pytest

from registry.artifact_inspection import inspect_artifact
from registry.demo import cell_kpi_dataset
from sharing import extraction, packaging
from sharing.models import PackageKind, PackageStatus
from sharing.runtime import samhub_runtime
from tests import factories

ROWS = cell_kpi_dataset(n_samples=7, seed=3)[0]
PIP_TIMEOUT_SECONDS = 900


def _clean_pip_env() -> dict:
    """An environment in which pip sees no configured index, find-links or config file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    return env | {"PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def _offline(command: list[str]) -> list[str]:
    """Run the command in a network namespace of its own (no interface but loopback, which is
    down) when this machine allows it; --no-index alone keeps pip off the network otherwise."""
    unshare = shutil.which("unshare")
    if unshare and os.geteuid() == 0:
        probe = subprocess.run([unshare, "--net", "true"], capture_output=True, check=False)
        if probe.returncode == 0:
            return [unshare, "--net", *command]
    return command


@pytest.fixture(scope="session")
def wheelhouse() -> Path:
    """Wheels of the SDKs' pinned dependencies (and theirs), for an offline install.

    Fetched once with `pip download` through the machine's configured package index (here a
    local index and find-links folder set in pip.conf) into a folder named after the pins, and
    reused by later runs on the same machine; the install in the test itself never touches a
    network.
    """
    pins = sorted(set(packaging.runtime_pins("onnx") + packaging.runtime_pins("skops")))
    key = hashlib.sha256(json.dumps([sys.version_info[:2], sys.platform, pins]).encode())
    folder = Path(tempfile.gettempdir()) / f"samhub-wheelhouse-{key.hexdigest()[:16]}"
    if (folder / "COMPLETE").exists():
        return folder
    staging = Path(tempfile.mkdtemp(prefix="samhub-wheelhouse-", dir=folder.parent))
    result = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--only-binary=:all:", "-d", str(staging)] + pins,
        capture_output=True,
        text=True,
        timeout=PIP_TIMEOUT_SECONDS,
        check=False,
    )
    assert result.returncode == 0, f"pip download {pins} failed:\n{result.stderr[-3000:]}"
    (staging / "COMPLETE").write_text("\n".join(pins) + "\n")
    try:
        staging.rename(folder)
    except OSError:  # another run finished first; theirs is as good
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def _released(provider, auditor, kind: str):
    return factories.make_version_in("RELEASED", provider=provider, auditor=auditor, kind=kind)


def _built_sdk(api, user, version, into: Path) -> Path:
    """Queue, build and download the SDK as a user would (the worker's part run in-process)."""
    package = extraction.package_request(user=user, version_id=version.pk, kind=PackageKind.SDK)
    assert extraction.package_build(package_id=package.pk).status == PackageStatus.READY
    answer = api(user).get(f"/api/v1/versions/{version.pk}/sdk/")
    assert answer.status_code == 200
    content = b"".join(answer.streaming_content)
    assert answer["X-Checksum-SHA256"] == hashlib.sha256(content).hexdigest()
    filename = answer["Content-Disposition"].split('filename="')[1].rstrip('"')
    path = into / filename
    path.write_bytes(content)
    return path


def _expected_onnx(rows: np.ndarray) -> list:
    session = onnxruntime.InferenceSession(factories.demo_model("onnx").content)
    return session.run(["variable"], {"X": rows.astype(np.float32)})[0].tolist()


def _expected_skops(rows: np.ndarray) -> tuple[list, list]:
    estimator = factories.demo_model("skops").estimator
    x = rows.astype(np.float64)
    return estimator.predict(x).tolist(), estimator.predict_proba(x).tolist()


SDK_SCRIPT = """
import json, sys
import {onnx} as load_model, {skops} as anomaly_model
rows = json.loads(sys.argv[1])
try:
    anomaly_model.predict({{"input": [[1.0, 2.0]]}})
    refused = None
except anomaly_model.InvalidInput as exc:
    refused = str(exc)
print(json.dumps({{
    "load": load_model.predict({{"X": rows}}),
    "anomaly": anomaly_model.predict({{"input": rows}}),
    "refused": refused,
    "metadata": [load_model.metadata, anomaly_model.metadata],
    "versions": [load_model.__version__, anomaly_model.__version__],
    "signature": anomaly_model.signature,
    "files": [load_model.__file__, anomaly_model.__file__],
}}))
"""


def test_the_sdk_wheels_install_offline_in_a_fresh_venv_and_predict_like_the_models(
    api, provider, auditor, tmp_path, wheelhouse
):
    onnx_version = _released(provider, auditor, "onnx")
    skops_version = _released(provider, auditor, "skops")
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    onnx_wheel = _built_sdk(api, provider, onnx_version, wheels)
    skops_wheel = _built_sdk(api, provider, skops_version, wheels)
    assert (
        onnx_wheel.name
        # Wheel names collapse runs of "-", "_" and "." (the slug holds "--") into one "_".
        == f"samhub_{re.sub(r'[-_.]+', '_', onnx_version.sam.slug)}-1.0.0-py3-none-any.whl"
    )

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    install = subprocess.run(
        _offline(
            [
                python,
                "-m",
                "pip",
                "install",
                "--no-index",
                "--find-links",
                str(wheelhouse),
                str(onnx_wheel),
                str(skops_wheel),
            ]
        ),  # fmt: skip
        capture_output=True,
        text=True,
        env=_clean_pip_env(),
        timeout=PIP_TIMEOUT_SECONDS,
        check=False,
    )
    assert install.returncode == 0, install.stdout[-2000:] + install.stderr[-3000:]

    script = SDK_SCRIPT.format(
        onnx=packaging.sdk_import_name(onnx_version),
        skops=packaging.sdk_import_name(skops_version),
    )
    # Run from a folder without the project on the path, so only the installed wheels import.
    ran = subprocess.run(
        _offline([python, "-c", script, json.dumps(ROWS.tolist())]),
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_clean_pip_env() | {"PYTHONPATH": ""},
        timeout=300,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    got = json.loads(ran.stdout)

    assert all(str(venv) in path for path in got["files"])
    assert np.allclose(got["load"]["variable"], _expected_onnx(ROWS), rtol=1e-6)
    labels, probabilities = _expected_skops(ROWS)
    assert got["anomaly"]["label"] == labels
    assert np.allclose(got["anomaly"]["probabilities"], probabilities, rtol=1e-9, atol=1e-12)
    assert got["refused"] == ("Input 'input': expected shape [batch, 6], got [1, 2]."), got[
        "refused"
    ]
    load_meta, anomaly_meta = got["metadata"]
    assert load_meta["sha256"] == onnx_version.artifact_sha256
    assert (anomaly_meta["model"], anomaly_meta["version"]) == (skops_version.sam.slug, "1.0.0")
    assert anomaly_meta["organisation"] == "North Operator"
    assert anomaly_meta["licence"] == "Apache-2.0"
    assert got["versions"] == ["1.0.0", "1.0.0"]
    assert got["signature"] == skops_version.signature


def test_the_sdk_wheel_pins_the_runtime_sam_hub_runs_and_documents_predict(
    provider, auditor, tmp_path
):
    version = _released(provider, auditor, "skops")

    built = packaging.sdk_build(version, workdir=tmp_path)

    with zipfile.ZipFile(built.path) as wheel:
        names = set(wheel.namelist())
        dist_info = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = Parser().parsestr(wheel.read(dist_info).decode())
        package = packaging.sdk_import_name(version)
        model_bytes = wheel.read(f"{package}/kpi-anomaly-detector.skops")
        shipped_runtime = wheel.read(f"{package}/_runtime.py")
    assert {f"{package}/__init__.py", f"{package}/metadata.json"} <= names
    assert hashlib.sha256(model_bytes).hexdigest() == version.artifact_sha256
    assert shipped_runtime == Path(samhub_runtime.__file__).read_bytes()
    assert metadata["Name"] == f"samhub-{version.sam.slug}"
    assert sorted(metadata.get_all("Requires-Dist")) == packaging.runtime_pins("skops")
    assert all("==" in pin for pin in metadata.get_all("Requires-Dist"))
    readme = metadata.get_payload()
    assert f"import {package} as model" in readme
    assert "model.predict(" in readme and "| `input` | float64 | [n, 6] |" in readme


@pytest.mark.parametrize(
    ("semver", "pep440"),
    [("1.0.0", "1.0.0"), ("2.1.0-rc.1", "2.1.0rc1"), ("1.2.3-beta.2", "1.2.3b2"),
     ("1.0.0+build.7", "1.0.0+build.7"), ("1.0.0-nightly.3", "1.0.0+nightly.3")],
)  # fmt: skip
def test_it_turns_the_sam_version_into_a_pep440_package_version(semver, pep440):
    assert packaging.pep440_version(semver) == pep440


# The SDK and the bundle ship sharing/runtime/samhub_runtime.py, loaded from the file and its
# sha256; the web process feeds the model bytes from the warehouse to the same module. Both must
# accept, refuse (with the same words) and answer alike.
RUNTIME_CASES = {
    "batch": lambda name: {name: ROWS[:3].tolist()},
    "one instance without the batch dimension": lambda name: {name: ROWS[0].tolist()},
    "missing input": lambda name: {},
    "unknown input": lambda name: {name: ROWS[:1].tolist(), "extra": [[1]]},
    "wrong shape": lambda name: {name: [[1.0, 2.0]]},
    "wrong type": lambda name: {name: [["a", 1, 2, 3, 4, 5]]},
    "true and false": lambda name: {name: [[True, 1, 2, 3, 4, 5]]},
    "null": lambda name: {name: [[None, 1, 2, 3, 4, 5]]},
    "ragged": lambda name: {name: [[1, 2, 3, 4, 5, 6], [1, 2]]},
    "empty batch": lambda name: {name: []},
    "over the batch limit": lambda name: {name: [[0.0] * 6] * 11},
    "not an object": lambda name: [[0.0] * 6],
}


@functools.cache
def _demo_runtimes(kind: str) -> tuple[dict, samhub_runtime.Runtime, object]:
    """(signature, the shipped runtime, SAM Hub's engine) for a demo model, loaded once."""
    model = factories.demo_model(kind)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / model.filename
        path.write_bytes(model.content)
        signature = inspect_artifact(str(path), model.filename)["signature"]
        shipped = samhub_runtime.load(
            str(path),
            format=kind,
            signature=signature,
            sha256=hashlib.sha256(model.content).hexdigest(),
        )
    return signature, shipped, samhub_runtime.load_model(kind, model.content)


@pytest.mark.parametrize("kind", ["onnx", "skops"])
@pytest.mark.parametrize("case", RUNTIME_CASES)
def test_the_shipped_runtime_accepts_refuses_and_answers_like_the_inference_api(kind, case):
    signature, shipped, engine = _demo_runtimes(kind)
    inputs = RUNTIME_CASES[case](signature["inputs"][0]["name"])

    def outcome(call):
        try:
            return "answer", call()
        except samhub_runtime.InvalidInput as exc:
            return "refused", str(exc)

    assert outcome(lambda: shipped.predict(inputs, max_batch=10)) == outcome(
        lambda: engine.predict(
            samhub_runtime.prepare_inputs(signature, inputs, max_batch=10).arrays,
            samhub_runtime.output_names(signature),
        )
    )
