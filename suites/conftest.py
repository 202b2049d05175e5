"""Fixtures of the checks under suites/: the cluster, the env's probes, helm, git and registries.

They live here, not in the auto-loaded plugin (fixtures.plugin), so that another project's tests
in the same environment never see fixtures named `env`, `cluster` or `git` that they did not ask for.
Checks reach the run's settings through the ``settings`` fixture, never ``config.stash``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from fixtures.charts import Renderer, find_helm
from fixtures.cluster import Cluster
from fixtures.errors import ConfigurationError
from fixtures.git_probe import GitReader
from fixtures.registry import RegistryClient, load_auths
from fixtures.settings import SETTINGS, EnvTarget, RunSettings


@pytest.fixture(scope="session")
def settings(request: pytest.FixtureRequest) -> RunSettings:
    """What the options resolved to: thresholds, DNS, the charts directory."""
    return request.config.stash[SETTINGS]


@pytest.fixture(scope="session")
def registries() -> Iterator[dict[tuple[Any, ...], RegistryClient]]:
    """Registry clients shared by the run, one per (endpoints, credentials file) in use."""
    clients: dict[tuple[Any, ...], RegistryClient] = {}
    yield clients
    for client in clients.values():
        client.close()


@pytest.fixture
def registry(env: EnvTarget, registries: dict[tuple[Any, ...], RegistryClient]) -> RegistryClient:
    """Read-only OCI distribution client for the env (its endpoints and credentials)."""
    key = (env.probes.registry_endpoints, env.probes.registry_auth)
    if key not in registries:
        try:
            registries[key] = RegistryClient(dict(env.probes.registry_endpoints), load_auths(env.probes.registry_auth))
        except ConfigurationError as error:
            pytest.skip(str(error))
    return registries[key]


@pytest.fixture(scope="session")
def git() -> Iterator[GitReader]:
    """Read-only git: temporary bare clones of the GitOps repository, once per run."""
    reader = GitReader()
    yield reader
    reader.close()


@pytest.fixture(scope="session")
def renderer(request: pytest.FixtureRequest) -> Renderer:
    """helm lint/template of the repository's charts, each (chart, env) once per run."""
    helm = find_helm(str(request.config.getini("bitiq_helm")) or None)
    if helm is None:
        pytest.skip("helm not found: run `scripts/install-tools.sh helm`, or set BITIQ_HELM or ini bitiq_helm")
    return Renderer(helm)


@pytest.fixture
def cluster(env: EnvTarget, settings: RunSettings) -> Cluster:
    """The read-only, cached view of the env's cluster."""
    return settings.pool.cluster(env.target)
