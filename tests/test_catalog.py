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
