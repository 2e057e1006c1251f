"""The apps' layering (docs/design.md, "Layering"): core <- registry <- sharing <- training, and
monitoring beside training on sharing. A lower app never imports a higher one, nor monitoring
and training each other; they plug in through the lower ones' extension points
(registry/extensions.py, sharing/extensions.py)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HIGHER = {"core": ("registry", "sharing", "training", "monitoring"),
          "registry": ("sharing", "training", "monitoring"),
          "sharing": ("training", "monitoring"),
          "training": ("monitoring",), "monitoring": ("training",)}  # fmt: skip


def imported_apps(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("app", sorted(HIGHER))
def test_a_lower_app_never_imports_a_higher_one(app):
    offending = {
        str(path.relative_to(ROOT)): sorted(imported_apps(path) & set(HIGHER[app]))
        for path in (ROOT / app).rglob("*.py")
        if imported_apps(path) & set(HIGHER[app])
    }
    assert offending == {}
