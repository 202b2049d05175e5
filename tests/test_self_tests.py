"""The self-tests themselves: no assertion that cannot fail."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def always_true(test: ast.expr) -> bool:
    """An assert on a literal, a tuple (`assert (x, "message")`), or an `or` with a truthy constant."""
    if isinstance(test, ast.Tuple | ast.List | ast.Dict | ast.Set | ast.JoinedStr):
        return bool(getattr(test, "elts", None) or getattr(test, "keys", None) or getattr(test, "values", None))
    if isinstance(test, ast.Constant):
        return bool(test.value)
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.Or):
        return any(always_true(value) for value in test.values)
    return False


def test_no_assertion_is_always_true() -> None:
    found = [
        f"{path.name}:{node.lineno}: assert {ast.unparse(node.test)[:60]}"
        for path in sorted(TESTS.glob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Assert) and always_true(node.test)
    ]
    assert found == []


def test_the_detector_sees_what_it_looks_for() -> None:
    for source in ('assert (1 == 2, "message")', "assert 1", 'assert x or "always"', 'assert f"{x}"'):
        node = ast.parse(source).body[0]
        assert isinstance(node, ast.Assert)
        assert always_true(node.test), source
    for source in ("assert x == 1", "assert items", "assert x or y"):
        node = ast.parse(source).body[0]
        assert isinstance(node, ast.Assert)
        assert not always_true(node.test), source
