"""Preflight: can the suite, and the bootstrap after it, reach and act on the cluster?"""

import pytest

from fixtures.checks import BLOCKING, check, fail, note
from fixtures.cluster import Cluster
from fixtures.errors import Unauthorized

pytestmark = pytest.mark.preflight
# Reaching the API and being logged in are the root causes every cluster check depends on: they run
# with parity and smoke too, so a dead cluster or an expired token is one FAIL there, and every
# other check is NOT-EVALUATED pointing at it (fixtures.checks.root_cause_of).
ROOT_CAUSE_MARKS = (pytest.mark.parity, pytest.mark.smoke)


@ROOT_CAUSE_MARKS[0]
@ROOT_CAUSE_MARKS[1]
@check(
    "preflight.access.api-reachable",
    level=BLOCKING,
    remediation="Check the server URL and CA in the kubeconfig (`oc whoami --show-server`)"
    " and that the API endpoint is reachable from here.",
)
def test_api_reachable(cluster: Cluster) -> None:
    """The API server answers /version and discovery over verified TLS within the request timeout."""
    try:
        version = cluster.version()
        served = len(cluster.discovery().by_resource)
    except Unauthorized:
        # An answer, even a refusal, proves the endpoint and its TLS; the credentials are
        # preflight.access.logged-in's finding, not this one's.
        note(f"{cluster.server} answers, but rejects the credentials (see preflight.access.logged-in)")
        return
    note(f"{cluster.server} answers: Kubernetes {version.get('gitVersion', '?')}, {served} resources served")


@ROOT_CAUSE_MARKS[0]
@ROOT_CAUSE_MARKS[1]
@check(
    "preflight.access.logged-in",
    level=BLOCKING,
    remediation="Log in (`oc login --server <api-url>`) or point --kubeconfig/--context at"
    " credentials for a named user.",
    sources=("k8s-anonymous-user",),
)
def test_logged_in(cluster: Cluster) -> None:
    """The credentials authenticate as a named user, not as system:anonymous."""
    user = cluster.whoami()
    if not user.username or user.username == "system:anonymous":
        fail(f"the API server sees {user}: the request was not authenticated")
    note(f"logged in as {user}")


@check(
    "preflight.access.cluster-admin",
    level=BLOCKING,
    remediation="Bootstrap installs operators, CRDs and cluster RBAC: run it as a cluster-admin"
    " (`oc adm policy add-cluster-role-to-user cluster-admin <user>`, or log in as one).",
    sources=("ssar-cluster-admin",),
)
def test_cluster_admin(cluster: Cluster) -> None:
    """The user may do every verb on every resource in every API group (cluster-admin)."""
    review = cluster.can("*", "*", "*")
    if not review.allowed:
        fail(f"{cluster.whoami().username} is not cluster-admin: {review}")
    note(str(review))
