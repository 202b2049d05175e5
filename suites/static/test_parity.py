"""Static parity: the envs' renders differ only where charts/parity-exceptions.yaml says, with a reason."""

import pytest

from fixtures.charts import Chart, Renderer
from fixtures.checks import BLOCKING, check, fail, note
from fixtures.parity_exceptions import EXCEPTIONS_FILE, differences, load_exceptions, normaliser, undeclared
from fixtures.settings import RunSettings

pytestmark = pytest.mark.static


@check(
    "static.parity.local-prod",
    level=BLOCKING,
    remediation="Make the envs agree, or declare the difference with a reason in charts/parity-exceptions.yaml.",
)
def test_envs_differ_only_as_declared(renderer: Renderer, settings: RunSettings, chart: Chart) -> None:
    """Rendered for every env and normalised, the chart differs between envs only where declared."""
    exceptions = load_exceptions(settings.charts_dir / EXCEPTIONS_FILE)
    renders = {
        env_name: normaliser(env)(renderer.objects(chart, env_name))
        for env_name, env in sorted(settings.known_envs.items())
    }
    found = differences(chart.name, renders)
    unexplained = undeclared(found, exceptions)
    if unexplained:
        fail("undeclared differences: " + "; ".join(str(difference) for difference in unexplained[:10]))
    note(f"{len(found)} declared differences between {', '.join(renders)}")
