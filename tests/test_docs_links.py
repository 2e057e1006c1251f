"""The README and docs/ link only to files inside the repository: a clone has nothing else."""

import re
from pathlib import Path

import pytest

from tests.processes import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
# [text](target) and ![alt](target), with an optional "title"; and [label]: target definitions.
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)
FENCED_CODE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
EXTERNAL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")  # http:, https:, mailto:


def relative_links(page: Path) -> list[str]:
    text = INLINE_CODE.sub("", FENCED_CODE.sub("", page.read_text()))
    targets = INLINE_LINK.findall(text) + REFERENCE.findall(text)
    return [t for t in targets if not EXTERNAL.match(t) and not t.startswith("#")]


def broken_links(page: Path) -> list[str]:
    """The page's relative links that leave the repository or name nothing in it."""
    broken = []
    for target in relative_links(page):
        path = target.split("#", 1)[0].split("?", 1)[0]
        resolved = (page.parent / path).resolve()
        if not resolved.is_relative_to(ROOT):
            broken.append(f"{target} (outside the repository)")
        elif not resolved.exists():
            broken.append(f"{target} (no such file)")
    return broken


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_names_a_file_in_the_repository(page):
    assert broken_links(page) == []


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_no_page_sends_the_reader_outside_the_repository(page):
    assert "../shared" not in page.read_text()


def test_the_check_catches_a_missing_file_and_a_path_outside(tmp_path, monkeypatch):
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "there.md").write_text("# There\n")
    page = tmp_path / "README.md"
    page.write_text(
        "[ok](docs/there.md#there) [web](https://example.org/x.md) [top](#top)\n"
        "`[code](docs/missing.md)`\n"
        "[gone](docs/missing.md) ![image](docs/pic.png)\n"
        "[seed](../shared/seeds/000.txt)\n"
        "[ref]: docs/also-missing.md\n"
    )

    assert broken_links(page) == [
        "docs/missing.md (no such file)",
        "docs/pic.png (no such file)",
        "../shared/seeds/000.txt (outside the repository)",
        "docs/also-missing.md (no such file)",
    ]
