"""The plugin is auto-loaded into every pytest run of its environment: it must leave other projects alone."""

from __future__ import annotations

import pytest

OTHER_PROJECT_CONFTEST = """
import pytest

@pytest.fixture
def env():
    return "theirs"

@pytest.fixture(params=["a", "b"])
def chart(request):
    return request.param
"""

OTHER_PROJECT_TESTS = """
def test_their_env(env):
    assert env == "theirs"

def test_their_chart(chart):
    assert chart in ("a", "b")

def test_no_bitiq_fixtures(request):
    for name in ("cluster", "settings", "git", "registry", "registries", "renderer"):
        try:
            request.getfixturevalue(name)
        except Exception as error:  # pytest's FixtureLookupError: no such fixture here
            assert type(error).__name__ == "FixtureLookupError", error
            continue
        raise AssertionError(f"fixture {name} leaked into another project")
"""


def test_another_project_in_the_same_environment_is_unaffected(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(OTHER_PROJECT_CONFTEST)
    pytester.makepyfile(test_theirs=OTHER_PROJECT_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-v", timeout=120)
    output = "\n".join(result.outlines + result.errlines)
    assert result.ret == 0, output
    # Their own parametrisation (a, b), not the suite's charts; their own env, not the suite's envs.
    result.stdout.fnmatch_lines(["*test_their_chart?a? PASSED*", "*test_their_chart?b? PASSED*"])
    assert "4 passed" in output
    assert "no-env" not in output
    assert "no --env given" not in output, "the suite's header was printed for another project"
    assert not (pytester.path / "reports").exists(), "the suite's reports were written for another project"


def test_a_collection_error_stays_pytests_own(pytester: pytest.Pytester) -> None:
    """A test module that fails to import is pytest's usual collection error (exit 2), not a crash of the plugin's
    report hooks, which see a CollectReport (no user_properties) for it."""
    pytester.makepyfile(test_broken="import no_such_module_anywhere\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=120)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    output = result.stdout.str() + result.stderr.str()
    assert "ERROR collecting test_broken.py" in output
    assert "AttributeError" not in output
