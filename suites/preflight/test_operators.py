"""Preflight: can OLM install OpenShift GitOps and Pipelines from pinned, compatible channels?"""

from typing import Any

import pytest
import yaml

from fixtures.checks import ADVISORY, BLOCKING, check, fail, not_applicable, note, warn
from fixtures.cluster import Cluster
from fixtures.openshift import Version, namespace_of, running_version
from fixtures.operators import (
    CATALOG_NAMESPACE,
    CATALOG_SOURCE,
    OPERATOR_PACKAGES,
    ChannelFinding,
    describe_subscription,
    find_subscription,
    installed_problems,
)
from fixtures.plugin import EnvTarget, RunSettings

pytestmark = pytest.mark.preflight

OLM = "operators.coreos.com"
PACKAGES_API = ("packages.operators.coreos.com", "packagemanifests")
PROD_ENVS = frozenset({"prod"})
by_package = pytest.mark.parametrize("package", OPERATOR_PACKAGES)


def subscription_or_none(cluster: Cluster, package: str) -> dict[str, Any] | None:
    if not cluster.serves(OLM, "subscriptions"):
        not_applicable("OLM is not installed (operators.coreos.com Subscriptions are not served)")
    return find_subscription(cluster.list_kind(OLM, "subscriptions"), package)


def openshift_version_or_na(cluster: Cluster) -> Version:
    running = running_version(cluster)
    if running is None:
        not_applicable("the OpenShift version is unknown (see preflight.cluster.openshift-version)")
    return running


def judge_channel(
    settings: RunSettings, env: EnvTarget, *, package: str, channel: str, version: Version, where: str
) -> str:
    """Fails (prod) or warns (other envs) on an unpinned or incompatible channel; returns the note."""
    table = settings.compatibility()
    finding = table.judge(package, channel, version.minor_line)
    supported = ", ".join(table.channels(package, version.minor_line))
    if finding is ChannelFinding.COMPATIBLE:
        return f"{where}: channel {channel} is supported on OpenShift {version.minor_line}"
    if finding is ChannelFinding.VERSION_NOT_IN_TABLE:
        known = ", ".join(table.known_versions(package))
        warn(
            f"{where}: OpenShift {version.minor_line} is not in {table.source.name} (it lists {known}):"
            f" cannot judge channel {channel or 'default'}"
        )
    reason = (
        f"{where}: channel {channel or '(default, i.e. latest)'} is not pinned"
        if finding is ChannelFinding.UNPINNED
        else f"{where}: channel {channel} is not supported on OpenShift {version.minor_line}"
    )
    message = f"{reason}; supported: {supported}"
    if env.name in PROD_ENVS:
        fail(message)
    warn(message)


@check(
    "preflight.operators.catalog-ready",
    level=ADVISORY,
    remediation="Check the catalog: `oc -n openshift-marketplace get catalogsource redhat-operators -o"
    " yaml` and its pod; a disconnected cluster needs a mirrored catalog of the same name.",
)
def test_catalog_ready(cluster: Cluster) -> None:
    """CatalogSource openshift-marketplace/redhat-operators reports READY."""
    if not cluster.serves(OLM, "catalogsources"):
        not_applicable("OLM is not installed (operators.coreos.com CatalogSources are not served)")
    catalog = cluster.find(OLM, "catalogsources", CATALOG_SOURCE, CATALOG_NAMESPACE)
    if catalog is None:
        fail(f"CatalogSource {CATALOG_NAMESPACE}/{CATALOG_SOURCE} does not exist")
    state = ((catalog.get("status") or {}).get("connectionState") or {}).get("lastObservedState")
    if state != "READY":
        fail(f"CatalogSource {CATALOG_NAMESPACE}/{CATALOG_SOURCE} connection state is {state or 'unknown'}, not READY")
    note(f"CatalogSource {CATALOG_NAMESPACE}/{CATALOG_SOURCE} READY")


@check(
    "preflight.operators.package-available",
    level=ADVISORY,
    remediation="The package must be in the catalog: `oc -n openshift-marketplace get packagemanifest"
    " <package>`; on a disconnected cluster, mirror it into the catalog.",
)
@by_package
def test_package_available(cluster: Cluster, package: str) -> None:
    """The operator's PackageManifest is visible in openshift-marketplace, from redhat-operators."""
    if not cluster.serves(*PACKAGES_API):
        not_applicable("OLM is not installed (PackageManifests are not served)")
    manifest = cluster.read(*PACKAGES_API, package, CATALOG_NAMESPACE)
    if manifest is None:
        fail(f"PackageManifest {CATALOG_NAMESPACE}/{package} does not exist")
    status = manifest.get("status") or {}
    channels = ", ".join(str(channel.get("name")) for channel in status.get("channels") or [])
    note(f"{package} from {status.get('catalogSource')}: channels {channels or 'none'}")


@check(
    "preflight.operators.subscription-healthy",
    level=BLOCKING,
    remediation="Inspect `oc -n <ns> describe subscription <package>` and its InstallPlan; approve a"
    " pending Manual InstallPlan (`oc -n <ns> patch installplan <name> --type merge -p"
    ' \'{"spec":{"approved":true}}\'`) or fix the failed CSV before bootstrapping.',
)
@by_package
def test_subscription_healthy(cluster: Cluster, package: str) -> None:
    """The operator is either not installed yet, or its Subscription is AtLatestKnown with a Succeeded CSV."""
    subscription = subscription_or_none(cluster, package)
    if subscription is None:
        note(f"{package} is not installed yet: installed by bootstrap")
        return
    where = describe_subscription(subscription)
    installed = (subscription.get("status") or {}).get("installedCSV")
    csv = cluster.read(OLM, "clusterserviceversions", installed, namespace_of(subscription)) if installed else None
    problems = installed_problems(subscription, csv)
    if problems:
        fail(f"{where}: " + "; ".join(problems))
    note(f"{where}: AtLatestKnown, CSV {installed} Succeeded")


@check(
    "preflight.operators.channel-pinned",
    level=BLOCKING,
    remediation="Pin the Subscription to a channel supported on this OpenShift version (see"
    " charts/bootstrap-operators/compatibility.yaml): `oc -n <ns> patch subscription <name> --type"
    ' merge -p \'{"spec":{"channel":"gitops-1.18"}}\'`. Blocking for prod, WARN elsewhere.',
)
@by_package
def test_channel_pinned(cluster: Cluster, env: EnvTarget, settings: RunSettings, package: str) -> None:
    """An installed operator's channel is pinned (not latest) and supported on the cluster's OpenShift
    version."""
    subscription = subscription_or_none(cluster, package)
    if subscription is None:
        not_applicable(f"{package} is not installed: bootstrap pins its channel (preflight.operators.chart-channels)")
    version = openshift_version_or_na(cluster)
    channel = str((subscription.get("spec") or {}).get("channel") or "")
    note(
        judge_channel(
            settings,
            env,
            package=package,
            channel=channel,
            version=version,
            where=describe_subscription(subscription),
        )
    )


@check(
    "preflight.operators.install-plan-approval",
    level=ADVISORY,
    remediation="For prod, set installPlanApproval: Manual so operator updates wait for a reviewed"
    " InstallPlan (charts/bootstrap-operators value installPlanApproval).",
)
@by_package
def test_install_plan_approval(cluster: Cluster, env: EnvTarget, package: str) -> None:
    """In prod, an installed operator updates only through approved InstallPlans (approval Manual)."""
    subscription = subscription_or_none(cluster, package)
    if subscription is None:
        not_applicable(f"{package} is not installed yet")
    approval = (subscription.get("spec") or {}).get("installPlanApproval") or "Automatic"
    if env.name in PROD_ENVS and approval != "Manual":
        fail(f"{describe_subscription(subscription)}: installPlanApproval {approval}; Manual recommended for prod")
    note(f"{describe_subscription(subscription)}: installPlanApproval {approval}")


@check(
    "preflight.operators.chart-channels",
    level=BLOCKING,
    remediation="Set operators.<name>.channel in charts/bootstrap-operators/values.yaml to a channel"
    " that compatibility.yaml lists for the cluster's OpenShift version.",
)
def test_chart_channels(cluster: Cluster, env: EnvTarget, settings: RunSettings) -> None:
    """The channels charts/bootstrap-operators pins are supported on the cluster's OpenShift version."""
    values_file = settings.charts_dir / "bootstrap-operators" / "values.yaml"
    if not values_file.is_file():
        not_applicable(f"{values_file} does not exist yet: nothing pinned to compare")
    operators = (yaml.safe_load(values_file.read_text(encoding="utf-8")) or {}).get("operators") or {}
    version = openshift_version_or_na(cluster)
    notes = []
    for key, entry in operators.items():
        package = str((entry or {}).get("package") or key)
        channel = str((entry or {}).get("channel") or "")
        where = f"{values_file.name} operators.{key}"
        notes.append(judge_channel(settings, env, package=package, channel=channel, version=version, where=where))
    if not notes:
        fail(f"{values_file} pins no operators (operators: is empty)")
    note("; ".join(notes))
