"""Parity: the sample app's Routes are admitted on BASE_DOMAIN, resolve, and serve 200 over verified TLS."""

import ipaddress

import pytest

from fixtures.checks import BLOCKING, ObjectRef, check, fail, not_evaluated, note
from fixtures.cluster import Cluster
from fixtures.conventions import ROUTE_HOST_LABELS
from fixtures.http_probe import get, tls_context
from fixtures.openshift import condition_is
from fixtures.settings import EnvTarget, RunSettings

pytestmark = pytest.mark.parity

ROUTE_NAMES = {"svc-api": "bitiq-sample-app", "svc-web": "bitiq-sample-app-web"}
by_route = pytest.mark.parametrize("route", ROUTE_HOST_LABELS)


def route_host(env: EnvTarget, route: str) -> str:
    return f"{route}.{env.base_domain}"


@check(
    "parity.routes.admitted",
    level=BLOCKING,
    remediation="`oc -n bitiq-<env> describe route <name>`: a host outside the router's domain or a"
    " conflicting route keeps it from being admitted; the host comes from baseDomain in values-<env>.yaml.",
    sources=("route-admitted-condition",),
)
@by_route
def test_route_admitted(cluster: Cluster, env: EnvTarget, route: str) -> None:
    """The sample app's Route is admitted by a router, with its host under BASE_DOMAIN."""
    name = ROUTE_NAMES[route]
    found = cluster.find("route.openshift.io", "routes", name, env.config.app_namespace)
    if found is None:
        fail(f"Route {env.config.app_namespace}/{name} does not exist")
    host = str((found.get("spec") or {}).get("host", ""))
    problems = []
    if host != route_host(env, route):
        problems.append(f"host {host or '(none)'}, want {route_host(env, route)}")
    ingresses = (found.get("status") or {}).get("ingress") or []
    admitted = [
        ingress.get("routerName") for ingress in ingresses if condition_is({"status": ingress}, "Admitted", "True")
    ]
    if not admitted:
        problems.append("not admitted by any router")
    if problems:
        fail(f"Route {env.config.app_namespace}/{name}: " + "; ".join(problems), about=[found])
    note(f"Route {name} {host} admitted by router {', '.join(str(r) for r in admitted)}")


@check(
    "parity.routes.dns",
    level=BLOCKING,
    remediation="The route host must resolve to the router: a wildcard *.<BASE_DOMAIN> record"
    " (see preflight.dns.wildcard), and no record for the host itself that points elsewhere (a stale one"
    " shadows the wildcard; remove it or point it at the router).",
    sources=("openshift-wildcard-dns",),
)
@pytest.mark.acceptance
@by_route
def test_route_resolves(env: EnvTarget, settings: RunSettings, route: str) -> None:
    """The route host resolves in DNS to the router's addresses: those of the wildcard *.<BASE_DOMAIN>, or the
    --ingress-address IP."""
    if settings.skip_dns:
        pytest.skip("--skip-dns given: route DNS was not checked")
    host = route_host(env, route)
    answer = env.probes.dns.resolve(host)
    if not answer.resolved:
        fail(str(answer))
    wanted, sources = router_addresses(env)
    if not wanted:
        not_evaluated(f"{answer}, but the router's address is unknown: {'; '.join(sources)}")
    elsewhere = sorted(set(answer.addresses) - wanted)
    if elsewhere:
        fail(
            f"{host} resolves to {', '.join(answer.addresses)} (via {answer.server}), want the router's"
            f" {', '.join(sorted(wanted))} ({'; '.join(sources)}): {', '.join(elsewhere)} is not the router"
        )
    note(f"{answer}: the router ({'; '.join(sources)})")


def router_addresses(env: EnvTarget) -> tuple[set[str], list[str]]:
    """The router's addresses as this run knows them and where they came from; with none, why not."""
    wanted: set[str] = set()
    sources, unknown = [], []
    probe, _ = env.probes.dns.probe_labels(env.base_domain)
    wildcard = env.probes.dns.resolve(probe)
    if wildcard.resolved:
        wanted |= set(wildcard.addresses)
        sources.append(f"the wildcard *.{env.base_domain}, as {probe} -> {', '.join(wildcard.addresses)}")
    else:
        unknown.append(f"the wildcard *.{env.base_domain} does not resolve ({wildcard})")
    if env.probes.ingress_address:
        host = env.probes.ingress_address[0].strip("[]")
        try:
            wanted.add(str(ipaddress.ip_address(host)))
            sources.append(f"--ingress-address {host}")
        except ValueError:
            unknown.append(f"--ingress-address {host} is not an IP address")
    else:
        unknown.append("no --ingress-address was given")
    return wanted, sources if wanted else unknown


@check(
    "parity.routes.serve-200",
    level=BLOCKING,
    remediation="`curl -v https://<host>/` from here; a 503 means no ready endpoints behind the route, a TLS"
    " error a certificate from another CA (pass --ca-bundle if the router serves a custom one).",
    sources=("ingress-default-cert-configmap",),
)
@pytest.mark.acceptance
@pytest.mark.smoke
@by_route
def test_route_serves_200(cluster: Cluster, env: EnvTarget, settings: RunSettings, route: str) -> None:
    """HTTPS GET on the route host returns 200, TLS verified against the cluster's ingress CA (or --ca-bundle)."""
    ca_pem = None
    if not env.probes.ca_bundle and not settings.insecure:
        configmaps = cluster.list_namespace("", "configmaps", "openshift-config-managed")
        bundle = next(
            (cm for cm in configmaps if (cm.get("metadata") or {}).get("name") == "default-ingress-cert"), None
        )
        ca_pem = ((bundle or {}).get("data") or {}).get("ca-bundle.crt")
        if not ca_pem:
            fail("openshift-config-managed/default-ingress-cert has no ca-bundle.crt: pass --ca-bundle")
    context = tls_context(ca_pem, env.probes.ca_bundle, insecure=settings.insecure)
    answer = get(route_host(env, route), "/", context, env.probes.ingress_address)
    verification = " (TLS not verified: --insecure)" if settings.insecure else ""
    if answer.status != 200:
        route_ref = ObjectRef("route.openshift.io/v1", "Route", ROUTE_NAMES[route], env.config.app_namespace)
        fail(f"{answer}{verification}", about=[route_ref])
    note(f"{answer}{verification}")
