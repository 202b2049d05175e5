"""Wiring only: the suite's plugin, and pytester for the self-tests under tests/."""

pytest_plugins = ["fixtures.plugin", "pytester"]
