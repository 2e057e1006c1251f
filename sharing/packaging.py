"""Build a version's SDK wheel and mirror bundle from its model file (ENI SAM clause 6.1).

Both ship the model runtime the web process runs, sharing/runtime/samhub_runtime.py, so that
the SDK's predict(), the bundle's serve script and SAM Hub's inference API give equal outputs.
The model file is copied out of the warehouse and checked against its sha256 before anything is
built.
Slow work (copying, pip, compression): call it outside any database transaction.
"""

import hashlib
import importlib.metadata
import json
import re
import shutil
import string
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.utils import timezone
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from registry.artifacts import CHUNK_SIZE
from registry.models import ArtifactFormat, ModelVersion
from sharing.models import PackageKind
from sharing.runtime import RUNTIME_DIR

# What the runtime imports for each format; pinned to the versions this SAM Hub runs.
RUNTIME_DISTRIBUTIONS = {
    ArtifactFormat.ONNX: ("numpy", "onnxruntime"),
    ArtifactFormat.SKOPS: ("numpy", "scikit-learn", "skops"),
}
PIP_TIMEOUT_SECONDS = 300
STORAGE_PREFIX = "packages"


class PackagingError(Exception):
    """A package could not be built; the message is what the requester is shown."""


@dataclass(frozen=True)
class BuiltPackage:
    """A built wheel or bundle in a local folder, with its digest."""

    path: Path
    sha256: str
    size: int

    @property
    def filename(self) -> str:
        return self.path.name


# --- names and versions -----------------------------------------------------------------


def sdk_distribution_name(version: ModelVersion) -> str:
    return f"samhub-{version.sam.slug}"


def sdk_import_name(version: ModelVersion) -> str:
    return "samhub_" + re.sub(r"[^0-9a-zA-Z]+", "_", version.sam.slug).strip("_").lower()


def pep440_version(semver: str) -> str:
    """A SAM version (semver) as a PEP 440 version: 2.1.0-rc.1 -> 2.1.0rc1; labels PEP 440
    cannot express become a local version (1.0.0-nightly.3 -> 1.0.0+nightly.3)."""
    try:
        return str(Version(semver))
    except InvalidVersion:
        core, *rest = re.split(r"[-+]", semver, maxsplit=1)
        local = re.sub(r"[^0-9a-zA-Z]+", ".", "".join(rest)).strip(".")
        return str(Version(f"{core}+{local}" if local else core))


def runtime_pins(artifact_format: str) -> list[str]:
    """The runtime's direct dependencies at the versions SAM Hub runs, e.g. numpy==2.1.3."""
    return [
        f"{name}=={importlib.metadata.version(name)}"
        for name in RUNTIME_DISTRIBUTIONS[ArtifactFormat(artifact_format)]
    ]


def runtime_lock(artifact_format: str) -> list[str]:
    """runtime_pins plus everything they pull in, each at the version installed here, so that
    a bundle's image reproduces SAM Hub's runtime (markers evaluated for this platform)."""
    pinned: dict[str, str] = {}
    todo = list(RUNTIME_DISTRIBUTIONS[ArtifactFormat(artifact_format)])
    while todo:
        name = canonicalize_name(todo.pop())
        if name in pinned:
            continue
        distribution = importlib.metadata.distribution(name)
        pinned[name] = distribution.version
        for line in distribution.requires or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return [f"{name}=={pinned[name]}" for name in sorted(pinned)]


def package_filename(version: ModelVersion, kind: str) -> str:
    """The name the built file will have (the wheel's follows the wheel naming rules)."""
    if kind == PackageKind.SDK:
        dist = sdk_distribution_name(version).replace("-", "_")
        return f"{dist}-{pep440_version(version.version)}-py3-none-any.whl"
    return f"{_bundle_root(version)}.tar.gz"


def _bundle_root(version: ModelVersion) -> str:
    return f"samhub-{version.sam.slug}-{re.sub(r'[^0-9a-zA-Z.]+', '-', version.version)}"


# --- shared pieces ------------------------------------------------------------------------


def _model_filename(version: ModelVersion) -> str:
    name = Path(version.artifact_filename or "").name
    name = re.sub(r"[^0-9A-Za-z._-]+", "-", name).lstrip(".")
    return name or f"model.{version.artifact_format}"


def _copy_model(version: ModelVersion, target: Path) -> None:
    """Copy the model file out of the warehouse, refusing one that is not what was validated."""
    if not version.artifact or not version.artifact_sha256:
        raise PackagingError(f"{version} has no model file in the warehouse.")
    digest = hashlib.sha256()
    try:
        with default_storage.open(version.artifact.name, "rb") as source, target.open("wb") as out:
            while chunk := source.read(CHUNK_SIZE):
                digest.update(chunk)
                out.write(chunk)
    except FileNotFoundError:
        raise PackagingError(
            f"The model file of {version} ({version.artifact.name}) is missing from the warehouse."
        ) from None
    if digest.hexdigest() != version.artifact_sha256:
        raise PackagingError(
            f"The model file of {version} in the warehouse has sha256 {digest.hexdigest()}, "
            f"not the validated {version.artifact_sha256}; it was changed or damaged."
        )


def _metadata(version: ModelVersion) -> dict:
    sam = version.sam
    return {
        "model": sam.slug,
        "modelName": sam.name,
        "version": version.version,
        "versionId": version.pk,
        "organisation": sam.organisation.name,
        "licence": sam.licence,
        "description": sam.description,
        "inferenceType": sam.inference_type,
        "inferenceName": sam.inference_name,
        "format": version.artifact_format,
        "modelFile": _model_filename(version),
        "sha256": version.artifact_sha256,
        "size": version.artifact_size,
        "signature": version.signature,
    }


def model_version_ref(version: ModelVersion) -> dict:
    """The `modelVersion` object of an inference answer."""
    return {"id": version.pk, "model": version.sam.slug, "version": version.version}


def _shape(shape) -> str:
    if shape is None:
        return "any"
    return "[" + ", ".join(str(d) if isinstance(d, int) else "n" for d in shape) + "]"


def _table(specs: list[dict]) -> str:
    rows = ["| name | type | shape |", "| --- | --- | --- |"]
    rows += [f"| `{s['name']}` | {s.get('type', '')} | {_shape(s.get('shape'))} |" for s in specs]
    return "\n".join(rows)


def _render(template: str, **values) -> str:
    text = (RUNTIME_DIR / template).read_text(encoding="utf-8")
    return string.Template(text).substitute(values)


def _readme_values(version: ModelVersion) -> dict:
    sam = version.sam
    return {
        "model_name": sam.name,
        "version": version.version,
        "version_id": version.pk,
        "organisation": sam.organisation.name,
        "description": sam.description or "",
        "format": version.get_artifact_format_display(),
        "sha256": version.artifact_sha256,
        "licence": sam.licence or "not stated",
        "example": json.dumps(version.example_inputs()),
        "inputs_table": _table(version.signature.get("inputs", [])),
        "outputs_table": _table(version.signature.get("outputs", [])),
    }


# --- SDK wheel ------------------------------------------------------------------------------


def sdk_build(version: ModelVersion, *, workdir: Path) -> BuiltPackage:
    """Generate the SDK project (pyproject.toml, setuptools) and let pip build its wheel."""
    import_name = sdk_import_name(version)
    project = workdir / "sdk"
    package = project / import_name
    package.mkdir(parents=True)
    metadata = _metadata(version)
    _copy_model(version, package / metadata["modelFile"])
    shutil.copyfile(RUNTIME_DIR / "samhub_runtime.py", package / "_runtime.py")
    shutil.copyfile(RUNTIME_DIR / "sdk_init.py", package / "__init__.py")
    dist_name = sdk_distribution_name(version)
    pins = runtime_pins(version.artifact_format)
    package_version = pep440_version(version.version)
    metadata |= {
        "packageName": dist_name,
        "packageVersion": package_version,
        "requirements": pins,
    }
    (package / "metadata.json").write_text(json.dumps(metadata, indent=2), encoding="utf-8")
    (project / "README.md").write_text(
        _render(
            "sdk_README.md",
            dist_name=dist_name,
            import_name=import_name,
            wheel_filename=package_filename(version, PackageKind.SDK),
            pins=", ".join(f"`{p}`" for p in pins),
            intended_use=version.sam.intended_use or "Not stated.",
            limitations=version.sam.limitations or "Not stated.",
            **_readme_values(version),
        ),
        encoding="utf-8",
    )
    (project / "pyproject.toml").write_text(
        _pyproject(version, dist_name, package_version, import_name, metadata["modelFile"], pins),
        encoding="utf-8",
    )
    out = workdir / "dist"
    _pip_wheel(project, out)
    wheels = list(out.glob("*.whl"))
    if len(wheels) != 1:
        raise PackagingError(f"pip built {len(wheels)} wheels instead of one.")
    return _built(wheels[0])


def _toml(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string


def _pyproject(
    version: ModelVersion,
    dist_name: str,
    package_version: str,
    import_name: str,
    model_file: str,
    pins: list[str],
) -> str:
    summary = f"{version.sam.name} {version.version} ({version.sam.organisation.name}) from SAM Hub"
    dependencies = ", ".join(_toml(p) for p in pins)
    package_data = ", ".join(_toml(f) for f in (model_file, "metadata.json"))
    return f"""[build-system]
requires = ["setuptools>=70.1"]
build-backend = "setuptools.build_meta"

[project]
name = {_toml(dist_name)}
version = {_toml(package_version)}
description = {_toml(summary)}
readme = "README.md"
requires-python = ">=3.10"
dependencies = [{dependencies}]

[tool.setuptools]
packages = [{_toml(import_name)}]
include-package-data = false

[tool.setuptools.package-data]
{import_name} = [{package_data}]
"""


def _pip_wheel(project: Path, out: Path) -> None:
    # No index and no build isolation: the build uses this environment's setuptools and
    # never reaches the network.
    command = [
        sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
        "--disable-pip-version-check", "--quiet", "-w", str(out), str(project),
    ]  # fmt: skip
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=PIP_TIMEOUT_SECONDS, check=False
        )
    except subprocess.TimeoutExpired:
        raise PackagingError(f"pip wheel took longer than {PIP_TIMEOUT_SECONDS} s.") from None
    if result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-15:])
        raise PackagingError(f"pip wheel failed (exit {result.returncode}):\n{tail}")


# --- mirror bundle --------------------------------------------------------------------------


def bundle_build(version: ModelVersion, *, workdir: Path) -> BuiltPackage:
    """The model, the runtime, serve.py, pinned requirements, a Dockerfile and a manifest
    with the sha256 of every file, as one .tar.gz."""
    root_name = _bundle_root(version)
    root = workdir / root_name
    (root / "model").mkdir(parents=True)
    metadata = _metadata(version)
    model_file = f"model/{metadata['modelFile']}"
    _copy_model(version, root / model_file)
    for name in ("samhub_runtime.py", "serve.py"):
        shutil.copyfile(RUNTIME_DIR / name, root / name)
    lock = runtime_lock(version.artifact_format)
    (root / "requirements.txt").write_text(
        f"# The runtime of {version.sam.name} {version.version}, pinned to what SAM Hub runs\n"
        f"# (CPython {sys.version_info.major}.{sys.version_info.minor}, {sys.platform}).\n"
        + "\n".join(lock)
        + "\n",
        encoding="utf-8",
    )
    image = f"samhub-{version.sam.slug.lower()}:{_docker_tag(version.version)}"
    readme = _readme_values(version) | {"model_file": model_file, "image": image}
    (root / "Dockerfile").write_text(_render("Dockerfile", image=image), encoding="utf-8")
    (root / "README.md").write_text(_render("bundle_README.md", **readme), encoding="utf-8")
    files = sorted(p for p in root.rglob("*") if p.is_file())
    manifest = {
        "manifestVersion": 1,
        **metadata,
        "modelFile": model_file,
        "modelVersion": model_version_ref(version),
        "maxBatch": settings.SAMHUB_INFERENCE_MAX_BATCH,
        "threads": settings.SAMHUB_INFERENCE_THREADS,
        "requirements": lock,
        "builtAt": timezone.now().isoformat(),
        "files": [_file_entry(root, path) for path in files],
    }
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    archive = workdir / f"{root_name}.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(root, arcname=root_name, filter=_anonymous)
    return _built(archive)


def _docker_tag(version: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", version)[:128]


def _file_entry(root: Path, path: Path) -> dict:
    built = _built(path)
    return {"path": path.relative_to(root).as_posix(), "sha256": built.sha256, "size": built.size}


def _anonymous(info: tarfile.TarInfo) -> tarfile.TarInfo:
    # The worker's user and group mean nothing on the consumer's machine.
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


# --- both -----------------------------------------------------------------------------------


def package_build_file(version: ModelVersion, kind: str, *, workdir: Path) -> BuiltPackage:
    if kind == PackageKind.SDK:
        return sdk_build(version, workdir=workdir)
    return bundle_build(version, workdir=workdir)


def _built(path: Path) -> BuiltPackage:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK_SIZE):
            digest.update(chunk)
    return BuiltPackage(path=path, sha256=digest.hexdigest(), size=path.stat().st_size)


def package_store(built: BuiltPackage) -> str:
    """Put a built file into the warehouse under its sha256 and return its storage name."""
    name = f"{STORAGE_PREFIX}/{built.sha256}/{built.filename}"
    if not default_storage.exists(name):
        with built.path.open("rb") as f:
            stored = default_storage.save(name, File(f, name=built.filename))
        if stored != name:
            raise PackagingError(f"The warehouse stored {name} as {stored}.")
    return name
