"""Parity: operators installed from pinned channels, secrets in place, and the envs at parity with each other."""

import pytest

from fixtures.checks import BLOCKING, check, fail, not_applicable, not_evaluated, note, warn
from fixtures.cluster import Cluster
from fixtures.conventions import (
    REQUIRED_SECRETS,
    RequiredSecret,
    require_secret,
)
from fixtures.inventory import FAIL as FAILED
from fixtures.inventory import NOT_EVALUATED, compare_components, components
from fixtures.openshift import namespace_of
from fixtures.operators import (
    OLM,
    OPENSHIFT_VERSION_CHECK,
    OPERATOR_PACKAGES,
    ChannelFinding,
    describe_subscription,
    find_subscription,
    installed_problems,
    read_openshift_version,
    upgrade_awaiting_approval,
)
from fixtures.parity_exceptions import EXCEPTIONS_FILE, load_exceptions
from fixtures.settings import RunSettings

pytestmark = pytest.mark.parity


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
    app_namespaces = {env.name: env.config.app_namespace for env in settings.envs}
    # The same comparison `python -m fixtures.fleet merge` makes over runs of one cluster each.
    compared = compare_components(per_env, app_namespaces, load_exceptions(settings.charts_dir / EXCEPTIONS_FILE))
    if compared.verdict == NOT_EVALUATED:
        not_evaluated(compared.evidence)
    if compared.verdict == FAILED:
        fail(compared.evidence)
    note(compared.evidence)
