"""The check catalog: IDs unique and well formed, and docs/CHECKS.md generated from the code."""

from __future__ import annotations

from fixtures.catalog import all_checks, render_markdown
from tests.conftest import REPO


def test_checks_md_is_generated_from_the_code() -> None:
    committed = (REPO / "docs" / "CHECKS.md").read_text()
    assert committed == render_markdown(all_checks()), (
        "docs/CHECKS.md is stale: run `make docs` (python -m fixtures.catalog > docs/CHECKS.md)"
    )


def test_every_check_belongs_to_a_suite_marker() -> None:
    unmarked = [entry.spec.id for entry in all_checks() if not entry.markers]
    assert unmarked == []


def test_check_ids_start_with_their_marker() -> None:
    misplaced = [entry.spec.id for entry in all_checks() if entry.spec.id.split(".", 1)[0] not in entry.markers]
    assert misplaced == []


def test_every_cited_source_is_in_sources_md() -> None:
    """A check's `sources` name headings of docs/SOURCES.md (`## key`), each with the upstream it was read in."""
    text = (REPO / "docs" / "SOURCES.md").read_text()
    headings = {line.removeprefix("## ").strip() for line in text.splitlines() if line.startswith("## ")}
    cited = {key for entry in all_checks() for key in entry.spec.sources}
    assert cited - headings == set(), "cited sources missing from docs/SOURCES.md"
    for key in headings:
        section = text.split(f"## {key}\n", 1)[1].split("\n## ", 1)[0]
        assert "Upstream:" in section, f"docs/SOURCES.md {key}: no 'Upstream:' line naming where it was read"
