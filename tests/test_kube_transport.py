"""The Kubernetes transport against the real API server: what it must not do while other threads run."""

from __future__ import annotations

import os
from collections.abc import Iterator, MutableMapping

import pytest

from fixtures.kube import KubeTransport, Target
from fixtures.sandbox import Sandbox


class WatchedEnvironment(MutableMapping[str, str]):
    """os.environ's contents, counting the walks over them (what getproxies() does)."""

    def __init__(self, contents: dict[str, str]) -> None:
        self._contents = contents
        self.walks = 0

    def __getitem__(self, key: str) -> str:
        return self._contents[key]

    def __setitem__(self, key: str, value: str) -> None:
        self._contents[key] = value

    def __delitem__(self, key: str) -> None:
        del self._contents[key]

    def __iter__(self) -> Iterator[str]:
        self.walks += 1
        return iter(dict(self._contents))

    def __len__(self) -> int:
        return len(self._contents)


def test_requests_do_not_walk_the_environment(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    """The client's token-refresh hook re-assigns the host before each request; if that re-read the
    proxy from os.environ, the prefetch workers would walk os.environ while pytest writes
    PYTEST_CURRENT_TEST on the main thread (seen in CI as "dictionary changed size during
    iteration"). The environment is read when the transport connects, never per request."""
    with KubeTransport(Target(kubeconfig=str(sandbox.kubeconfig("reader")))) as transport:
        transport.get("/version")  # connects: the environment is read here
        watched = WatchedEnvironment(dict(os.environ))
        monkeypatch.setattr(os, "environ", watched)
        for _ in range(3):
            assert "gitVersion" in transport.get("/version")
        assert watched.walks == 0
