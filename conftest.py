"""Wiring only: pytester for the self-tests under tests/.

The suite's own plugin (fixtures.plugin) is registered by the package's pytest11 entry point.
"""

pytest_plugins = ["pytester"]
