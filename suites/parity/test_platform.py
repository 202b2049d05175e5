"""Parity: operators installed from pinned channels, secrets in place, and the envs at parity with each other."""

import pytest

from fixtures.checks import BLOCKING, check, fail, not_applicable, not_evaluated, note, warn
from fixtures.cluster import Cluster
from fixtures.conventions import (
    GITOPS_NAMESPACE,
    PIPELINES_NAMESPACE,
    REQUIRED_SECRETS,
    RequiredSecret,
    require_secret,
)
from fixtures.openshift import name_of, namespace_of
from fixtures.operators import (
    OPENSHIFT_VERSION_CHECK,
    OPERATOR_PACKAGES,
    ChannelFinding,
    describe_subscription,
    find_subscription,
    installed_problems,
    read_openshift_version,
    upgrade_awaiting_approval,
)
from fixtures.parity_exceptions import EXCEPTIONS_FILE, PRESENCE, Difference, load_exceptions, undeclared
from fixtures.settings import EnvTarget, RunSettings

pytestmark = pytest.mark.parity

OLM = "operators.coreos.com"


@check(
    "parity.operators.installed",
    level=BLOCKING,
    remediation="Install with `make bootstrap ENV=<env>` (charts/bootstrap-operators; it approves the first"
    " InstallPlan of the pinned startingCSV), or approve it by hand with the `oc -n <ns> patch installplan` the"
    " evidence names, and pin the channel to one compatibility.yaml lists for the cluster's OpenShift version. An"
    " upgrade waiting for Manual approval while the installed CSV Succeeded passes (its version is in the evidence);"
    " a channel only an unverified row of compatibility.yaml lists is a WARN.",
    sources=("olm-manual-approval", "operator-compatibility"),
)
@pytest.mark.acceptance
@pytest.mark.parametrize("package", OPERATOR_PACKAGES)
def test_operator_installed(cluster: Cluster, settings: RunSettings, package: str) -> None:
    """The operator is installed (AtLatestKnown, CSV Succeeded) from a pinned channel supported on this OpenShift."""
    subscriptions = cluster.list_kind(OLM, "subscriptions") if cluster.serves(OLM, "subscriptions") else []
    subscription = find_subscription(subscriptions, package)
    if subscription is None:
        fail(f"{package} is not installed (no Subscription)")
    installed = (subscription.get("status") or {}).get("installedCSV")
    csv = cluster.read(OLM, "clusterserviceversions", installed, namespace_of(subscription)) if installed else None
    problems = installed_problems(subscription, csv)
    reading = read_openshift_version(cluster)
    channel = str((subscription.get("spec") or {}).get("channel") or "")
    table = settings.compatibility()
    unjudged = unverified = ""
    if reading.version is not None:
        finding = table.judge(package, channel, reading.version.minor_line)
        if finding is ChannelFinding.UNVERIFIED:
            unverified = table.unverified_message(package, channel, reading.version.minor_line)
        elif finding is not ChannelFinding.COMPATIBLE:
            problems.append(
                f"channel {channel or '(default)'} is {finding.value} on OpenShift {reading.version.minor_line}"
            )
    elif table.judge(package, channel, "") is ChannelFinding.UNPINNED:
        problems.append(f"channel {channel or '(default)'} is unpinned")  # whatever the version
    else:
        unjudged = f"channel {channel} not judged: the OpenShift version is unknown ({reading.unknown_because})"
    if problems:
        fail(
            f"{describe_subscription(subscription)}: " + "; ".join([*problems, unjudged] if unjudged else problems),
            about=[subscription],
        )
    if unjudged:
        not_evaluated(
            f"{describe_subscription(subscription)}: CSV {installed} Succeeded, but {unjudged}",
            root_cause=OPENSHIFT_VERSION_CHECK,
        )
    pending = upgrade_awaiting_approval(subscription)
    succeeded = f"{describe_subscription(subscription)}: CSV {installed} Succeeded" + (
        f"; {pending}" if pending else ""
    )
    if unverified:
        warn(f"{succeeded}, but {unverified}")
    note(succeeded)


@check(
    "parity.secrets.present",
    level=BLOCKING,
    remediation="Create the secret from stdin or a file (docs/SECRETS.md), or through External Secrets /"
    " Sealed Secrets (charts/secrets-examples); link quay-auth to SA pipeline.",
    sources=("k8s-dockerconfigjson-secret",),
)
@pytest.mark.parametrize("secret", REQUIRED_SECRETS, ids=lambda secret: secret.name)
def test_secret_present(cluster: Cluster, secret: RequiredSecret) -> None:
    """A secret the running stack needs exists with the expected type and keys (values never read into output)."""
    require_secret(cluster, secret)


def components(cluster: Cluster, env: EnvTarget) -> set[tuple[str, str, str]]:
    """(chart, kind, name with the env normalised) of what the env runs: nested apps, routes, pipelines."""
    found = set()
    for app in cluster.objects("argoproj.io", "applications", GITOPS_NAMESPACE):
        labels = (app.get("metadata") or {}).get("labels") or {}
        if labels.get("bitiq.io/env") == env.name and labels.get("app.kubernetes.io/part-of") == "bitiq-umbrella":
            found.add(("bitiq-umbrella", "Application", name_of(app).removesuffix(f"-{env.name}") + "-<env>"))
    for route in cluster.objects("route.openshift.io", "routes", env.config.app_namespace):
        found.add(("bitiq-sample-app", "Route", name_of(route)))
    for pipeline in cluster.objects("tekton.dev", "pipelines", PIPELINES_NAMESPACE):
        found.add(("ci-pipelines", "Pipeline", name_of(pipeline)))
    return found


@check(
    "parity.envs.same-components",
    level=BLOCKING,
    remediation="Bring the env that lacks the component to parity (its umbrella renders the same charts), or"
    " declare the difference with a reason in charts/parity-exceptions.yaml.",
    min_envs=2,
)
def test_envs_run_the_same_components(settings: RunSettings) -> None:
    """With several --env, every env runs the same nested apps, routes and pipelines, unless declared."""
    if len(settings.envs) < 2:
        not_applicable("one env only: pass --env local --env prod to compare envs")
    per_env = {env.name: components(settings.pool.cluster(env.target), env) for env in settings.envs}
    empty = [env for env in settings.envs if not per_env[env.name]]
    if empty:
        # Nothing read is nothing compared: two empty envs "agree", and that is no parity.
        looked_for = "; ".join(
            f"env {env.name}: no Application labelled bitiq.io/env={env.name} in {GITOPS_NAMESPACE}, no Route in"
            f" {env.config.app_namespace}, no Pipeline in {PIPELINES_NAMESPACE}"
            for env in empty
        )
        others = ", ".join(f"{name} has {len(found)}" for name, found in per_env.items() if found)
        not_evaluated(
            f"no components found in env {', '.join(env.name for env in empty)} ({looked_for})"
            f"{'; ' + others if others else ''}: nothing to compare (is it bootstrapped, is it the right cluster?)"
        )
    everything = set().union(*per_env.values())
    found = [
        Difference(
            chart, kind, name, PRESENCE, {env: (chart, kind, name) in present for env, present in per_env.items()}
        )
        for chart, kind, name in sorted(everything)
        if any((chart, kind, name) not in present for present in per_env.values())
    ]
    unexplained = undeclared(found, load_exceptions(settings.charts_dir / EXCEPTIONS_FILE))
    if unexplained:
        fail("present in some envs only: " + "; ".join(str(difference) for difference in unexplained))
    note(f"{len(everything)} components in each of {', '.join(per_env)}")
