"""Preflight: is the apps domain known, served by the cluster's router, and wildcard-resolvable?"""

import pytest

from fixtures.checks import ADVISORY, BLOCKING, check, fail, not_applicable, note
from fixtures.cluster import Cluster
from fixtures.conventions import ROUTE_HOST_LABELS
from fixtures.openshift import name_of, namespace_of
from fixtures.settings import EnvTarget, RunSettings

pytestmark = pytest.mark.preflight

# Top-level domains reserved for documentation and tests (RFC 2606, RFC 6761): a baseDomain
# under one of them in the values file is a placeholder nobody set.
PLACEHOLDER_TLDS = ("example", "invalid", "test", "localhost")


@check(
    "preflight.ingress.base-domain-known",
    level=BLOCKING,
    remediation="Pass --base-domain or export BASE_DOMAIN with the cluster's apps domain"
    " (`oc get ingresses.config cluster -o jsonpath='{.spec.domain}'`), or set the env's"
    " baseDomain in charts/argocd-apps/values.yaml.",
)
def test_base_domain_known(env: EnvTarget) -> None:
    """The apps domain the routes will use is given (option, $BASE_DOMAIN or a real envs[].baseDomain)."""
    domain = env.base_domain
    if env.base_domain_source.startswith("envs[") and domain.rsplit(".", 1)[-1] in PLACEHOLDER_TLDS:
        fail(
            f"no --base-domain or BASE_DOMAIN given, and {env.base_domain_source} is the placeholder"
            f" {domain!r} (a reserved documentation domain)"
        )
    note(f"base domain {domain} from {env.base_domain_source}")


@check(
    "preflight.ingress.apps-domain",
    level=ADVISORY,
    remediation="Use the cluster's apps domain as BASE_DOMAIN, or add an IngressController (a router"
    " shard) whose domain is BASE_DOMAIN; otherwise Routes on it are admitted by no router.",
    sources=("openshift-ingress-domain",),
)
def test_base_domain_is_served(cluster: Cluster, env: EnvTarget) -> None:
    """BASE_DOMAIN is the cluster's apps domain (Ingress 'cluster') or an IngressController's domain."""
    if not cluster.serves("config.openshift.io", "ingresses"):
        not_applicable("not an OpenShift cluster: no Ingress config to compare with")
    ingress = cluster.find("config.openshift.io", "ingresses", "cluster") or {}
    spec = ingress.get("spec") or {}
    served = {str(domain): "Ingress cluster" for domain in (spec.get("domain"), spec.get("appsDomain")) if domain}
    if cluster.serves("operator.openshift.io", "ingresscontrollers"):
        for controller in cluster.list_kind("operator.openshift.io", "ingresscontrollers"):
            domain = (controller.get("status") or {}).get("domain")
            if domain:
                served.setdefault(str(domain), f"IngressController {namespace_of(controller)}/{name_of(controller)}")
    if env.base_domain in served:
        note(f"{env.base_domain} is served by {served[env.base_domain]}")
        return
    shown = ", ".join(f"{domain} ({owner})" for domain, owner in served.items()) or "none"
    fail(f"BASE_DOMAIN {env.base_domain} ({env.base_domain_source}) is not served here; the cluster serves: {shown}")


@check(
    "preflight.dns.wildcard",
    level=BLOCKING,
    remediation="Create a wildcard record *.<BASE_DOMAIN> pointing at the router's load balancer"
    " (`oc -n openshift-ingress get svc router-default`); probe a specific server with --nameserver.",
    sources=("openshift-wildcard-dns",),
)
def test_wildcard_dns(env: EnvTarget, settings: RunSettings) -> None:
    """A random name under BASE_DOMAIN resolves (a wildcard record exists)."""
    if settings.skip_dns:
        pytest.skip("--skip-dns given: wildcard DNS was not checked")
    first, _ = env.probes.dns.probe_labels(env.base_domain)
    answer = env.probes.dns.resolve(first)
    if not answer.resolved:
        fail(str(answer))
    note(str(answer))


@check(
    "preflight.dns.wildcard-consistent",
    level=ADVISORY,
    remediation="Remove individual records under BASE_DOMAIN that shadow the wildcard *.<BASE_DOMAIN>"
    " (or point them at the same router), so every route host reaches the router that admits it.",
    sources=("openshift-wildcard-dns",),
)
def test_wildcard_dns_consistent(env: EnvTarget, settings: RunSettings) -> None:
    """A second random name and the sample app's route hosts resolve to the wildcard's addresses:
    one wildcard, no stale record shadowing it."""
    if settings.skip_dns:
        pytest.skip("--skip-dns given: wildcard DNS was not checked")
    first_name, second_name = env.probes.dns.probe_labels(env.base_domain)
    first = env.probes.dns.resolve(first_name)
    if not first.resolved:
        not_applicable("the first name did not resolve (see preflight.dns.wildcard)")
    names = [second_name, *(f"{label}.{env.base_domain}" for label in ROUTE_HOST_LABELS)]
    answers = [env.probes.dns.resolve(name) for name in names]
    differing = [str(answer) for answer in answers if set(answer.addresses) != set(first.addresses)]
    if differing:
        fail(f"the wildcard answers {', '.join(first.addresses)}, but: {'; '.join(differing)}")
    note(f"{len(names) + 1} names -> {', '.join(first.addresses)}")
