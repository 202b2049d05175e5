"""Preflight: can OLM install OpenShift GitOps and Pipelines from pinned, compatible channels?"""

from dataclasses import dataclass
from typing import Any

import pytest

from fixtures.checks import ADVISORY, BLOCKING, check, fail, not_applicable, not_evaluated, note, warn
from fixtures.cluster import Cluster
from fixtures.openshift import namespace_of
from fixtures.operators import (
    CATALOG_NAMESPACE,
    CATALOG_SOURCE,
    OLM,
    OPENSHIFT_VERSION_CHECK,
    OPERATOR_PACKAGES,
    PACKAGES_API,
    Catalog,
    ChannelFinding,
    OpenShiftVersionReading,
    catalog_of_manifest,
    catalog_of_subscription,
    chart_operators,
    describe_subscription,
    find_subscription,
    installed_problems,
    read_openshift_version,
    upgrade_awaiting_approval,
)
from fixtures.settings import EnvTarget, RunSettings

pytestmark = pytest.mark.preflight

by_package = pytest.mark.parametrize("package", OPERATOR_PACKAGES)


def subscription_or_none(cluster: Cluster, package: str) -> dict[str, Any] | None:
    if not cluster.serves(OLM, "subscriptions"):
        not_applicable("OLM is not installed (operators.coreos.com Subscriptions are not served)")
    return find_subscription(cluster.list_kind(OLM, "subscriptions"), package)


@dataclass(frozen=True)
class ChannelJudgement:
    """One channel judged against compatibility.yaml; finding None: not judged (the version is unknown)."""

    finding: ChannelFinding | None
    message: str


def judge_channel(  # noqa: PLR0911 (one return per finding)
    settings: RunSettings, *, package: str, channel: str, reading: OpenShiftVersionReading, where: str
) -> ChannelJudgement:
    """An unpinned channel is judged whatever the version; every other finding needs the running version."""
    table = settings.compatibility()
    unpinned = f"{where}: channel {channel or '(default, i.e. latest)'} is not pinned"
    version = reading.version
    if version is None:
        if table.judge(package, channel, "") is ChannelFinding.UNPINNED:
            return ChannelJudgement(ChannelFinding.UNPINNED, unpinned)
        return ChannelJudgement(None, f"{where}: channel {channel} not judged: {reading.unknown_because}")
    finding = table.judge(package, channel, version.minor_line)
    supported = ", ".join(table.channels(package, version.minor_line))
    if finding is ChannelFinding.COMPATIBLE:
        return ChannelJudgement(finding, f"{where}: channel {channel} is supported on OpenShift {version.minor_line}")
    if finding is ChannelFinding.VERSION_NOT_IN_TABLE:
        known = ", ".join(table.known_versions(package))
        return ChannelJudgement(
            finding,
            f"{where}: OpenShift {version.minor_line} is not in {table.source.name} (it lists {known}):"
            f" cannot judge channel {channel or 'default'}",
        )
    if finding is ChannelFinding.UNPINNED:
        return ChannelJudgement(finding, f"{unpinned}; supported: {supported}")
    if finding is ChannelFinding.UNVERIFIED:
        return ChannelJudgement(finding, f"{where}: {table.unverified_message(package, channel, version.minor_line)}")
    return ChannelJudgement(
        finding,
        f"{where}: channel {channel} is not supported on OpenShift {version.minor_line}; supported: {supported}",
    )


def conclude_channels(env: EnvTarget, judgements: list[ChannelJudgement]) -> None:
    """Fails (a production env) or warns (any other) on an unpinned or incompatible channel; WARN on a version
    the table does not list or a channel only an unverified row lists; NOT-EVALUATED when the version is
    unknown and nothing else is wrong; else notes."""
    messages = [judgement.message for judgement in judgements]
    findings = {judgement.finding for judgement in judgements}
    if findings & {ChannelFinding.UNPINNED, ChannelFinding.INCOMPATIBLE}:
        wrong = [j.message for j in judgements if j.finding in (ChannelFinding.UNPINNED, ChannelFinding.INCOMPATIBLE)]
        rest = [j.message for j in judgements if j.finding not in (ChannelFinding.UNPINNED, ChannelFinding.COMPATIBLE)]
        message = "; ".join(wrong + rest)
        if env.config.production:
            fail(f"{message} (env {env.name} is production)")
        warn(message)
    if findings & {ChannelFinding.VERSION_NOT_IN_TABLE, ChannelFinding.UNVERIFIED}:
        warn("; ".join(messages))
    if None in findings:
        not_evaluated("; ".join(messages), root_cause=OPENSHIFT_VERSION_CHECK)
    note("; ".join(messages))


def catalog_named(settings: RunSettings, env: EnvTarget) -> tuple[Catalog, str]:
    """The catalog the operators install from, and who says so: --catalog-source (or the env's
    catalog-source) when it names another than redhat-operators, else charts/bootstrap-operators' source."""
    if env.probes.catalog_source and env.probes.catalog_source != CATALOG_SOURCE:
        return Catalog(CATALOG_NAMESPACE, env.probes.catalog_source), "--catalog-source"
    chart = chart_operators(settings.charts_dir, env.name)
    if chart.catalog.name != CATALOG_SOURCE:
        return chart.catalog, f"the source charts/bootstrap-operators installs from ({chart.described})"
    return Catalog(CATALOG_NAMESPACE, env.probes.catalog_source or CATALOG_SOURCE), "the default --catalog-source"


@check(
    "preflight.operators.catalog-ready",
    level=ADVISORY,
    remediation="Check the catalog: `oc -n openshift-marketplace get catalogsource <name> -o yaml` and its pod. A"
    " cluster mirrored with oc-mirror names its catalog otherwise (e.g. cs-redhat-operator-index-v4-19): pass"
    " `--catalog-source <name>` (ini bitiq_catalog_source, or catalog-source in --env-config) and bootstrap with"
    " `scripts/bootstrap.sh --catalog-source <name>` (docs/PROD-RUNBOOK.md, Mirrored registries and proxies).",
    sources=("oc-mirror-catalogsource-name", "olm-default-catalogs"),
)
def test_catalog_ready(cluster: Cluster, env: EnvTarget, settings: RunSettings) -> None:
    """The CatalogSource the operators install from (--catalog-source, default redhat-operators in
    openshift-marketplace) exists and reports READY."""
    if not cluster.serves(OLM, "catalogsources"):
        not_applicable("OLM is not installed (operators.coreos.com CatalogSources are not served)")
    wanted, named_by = catalog_named(settings, env)
    catalog = cluster.find(OLM, "catalogsources", wanted.name, wanted.namespace)
    if catalog is None:
        others = sorted(
            f"{namespace_of(item)}/{(item.get('metadata') or {}).get('name')}"
            for item in cluster.list_kind(OLM, "catalogsources")
        )
        fail(
            f"CatalogSource {wanted} ({named_by}) does not exist; the cluster has {', '.join(others) or 'none'}:"
            " on a mirrored cluster pass --catalog-source <name> (ini bitiq_catalog_source, or catalog-source in"
            " --env-config) naming the mirrored catalog"
        )
    state = ((catalog.get("status") or {}).get("connectionState") or {}).get("lastObservedState")
    if state != "READY":
        fail(f"CatalogSource {wanted} connection state is {state or 'unknown'}, not READY")
    note(f"CatalogSource {wanted} READY ({named_by})")


@check(
    "preflight.operators.package-available",
    level=ADVISORY,
    remediation="The package must be in the catalog the Subscription names (charts/bootstrap-operators values"
    " source/sourceNamespace): `oc -n openshift-marketplace get packagemanifest -l catalog=redhat-operators`; on a"
    " disconnected cluster, mirror it into that catalog, or name the catalog that serves it with --catalog-source"
    " (bootstrap sets the chart's source from it).",
    sources=("oc-mirror-catalogsource-name",),
)
@by_package
def test_package_available(cluster: Cluster, env: EnvTarget, settings: RunSettings, package: str) -> None:
    """The operator's PackageManifest is served by the catalog it is installed from: its Subscription's
    source, or before bootstrap charts/bootstrap-operators' (redhat-operators in openshift-marketplace)."""
    if not cluster.serves(*PACKAGES_API):
        not_applicable("OLM is not installed (PackageManifests are not served)")
    wanted, wanted_by = catalog_wanted(cluster, settings, env, package)
    manifest = cluster.read(*PACKAGES_API, package, wanted.namespace)
    if manifest is None:
        fail(f"PackageManifest {wanted.namespace}/{package} does not exist (wanted from catalog {wanted}, {wanted_by})")
    served_by = catalog_of_manifest(manifest)
    if served_by != wanted:
        # packageserver answers a GET with the first catalog that has the name: look through them all.
        same_name = [
            item
            for item in cluster.list_namespace(*PACKAGES_API, wanted.namespace)
            if (item.get("metadata") or {}).get("name") == package
        ]
        from_wanted = next((item for item in same_name if catalog_of_manifest(item) == wanted), None)
        if from_wanted is None:
            others = ", ".join(sorted({str(catalog_of_manifest(item)) for item in same_name} | {str(served_by)}))
            fail(
                f"PackageManifest {package} is served by catalog {others} only, not by catalog {wanted}"
                f" ({wanted_by}): OLM cannot resolve it from {wanted}"
            )
        manifest = from_wanted
    status = manifest.get("status") or {}
    channels = ", ".join(str(channel.get("name")) for channel in status.get("channels") or [])
    note(f"{package} from catalog {wanted} ({wanted_by}): channels {channels or 'none'}")


def catalog_wanted(cluster: Cluster, settings: RunSettings, env: EnvTarget, package: str) -> tuple[Catalog, str]:
    """The catalog OLM resolves the package from, and who says so: its Subscription, else the chart."""
    subscriptions = cluster.list_kind(OLM, "subscriptions") if cluster.serves(OLM, "subscriptions") else []
    subscription = find_subscription(subscriptions, package)
    if subscription is not None:
        return catalog_of_subscription(subscription), f"the source of {describe_subscription(subscription)}"
    return catalog_named(settings, env)


@check(
    "preflight.operators.subscription-healthy",
    level=BLOCKING,
    remediation="Inspect `oc -n <ns> describe subscription <package>` and its InstallPlan. A first install waiting"
    " for Manual approval: run `make bootstrap` (it approves the InstallPlan of the pinned startingCSV) or"
    ' `oc -n <ns> patch installplan <name> --type merge -p \'{"spec":{"approved":true}}\'` (the evidence'
    " names both). An upgrade waiting for approval while the installed CSV Succeeded passes. Fix a failed CSV.",
    sources=("olm-manual-approval",),
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
        fail(f"{where}: " + "; ".join(problems), about=[subscription])
    pending = upgrade_awaiting_approval(subscription)
    if pending:
        note(f"{where}: CSV {installed} Succeeded; {pending}")
    else:
        note(f"{where}: AtLatestKnown, CSV {installed} Succeeded")


@check(
    "preflight.operators.channel-pinned",
    level=BLOCKING,
    remediation="Pin the Subscription to a channel supported on this OpenShift version (see"
    " charts/bootstrap-operators/compatibility.yaml): `oc -n <ns> patch subscription <name> --type"
    ' merge -p \'{"spec":{"channel":"gitops-1.18"}}\'`. Blocking in a production env (envs[].production in'
    " charts/argocd-apps/values.yaml), WARN elsewhere; a channel only an unverified row lists is a WARN.",
    sources=("operator-compatibility",),
)
@by_package
def test_channel_pinned(cluster: Cluster, env: EnvTarget, settings: RunSettings, package: str) -> None:
    """An installed operator's channel is pinned (not latest) and supported on the cluster's OpenShift
    version."""
    subscription = subscription_or_none(cluster, package)
    if subscription is None:
        not_applicable(f"{package} is not installed: bootstrap pins its channel (preflight.operators.chart-channels)")
    channel = str((subscription.get("spec") or {}).get("channel") or "")
    judgement = judge_channel(
        settings,
        package=package,
        channel=channel,
        reading=read_openshift_version(cluster),
        where=describe_subscription(subscription),
    )
    conclude_channels(env, [judgement])


@check(
    "preflight.operators.install-plan-approval",
    level=ADVISORY,
    remediation="For a production env, set installPlanApproval: Manual so operator updates wait for a reviewed"
    " InstallPlan (charts/bootstrap-operators value installPlanApproval).",
    sources=("olm-install-plan-approval-default", "olm-manual-approval"),
)
@by_package
def test_install_plan_approval(cluster: Cluster, env: EnvTarget, package: str) -> None:
    """In a production env, an installed operator updates only through approved InstallPlans (approval Manual)."""
    subscription = subscription_or_none(cluster, package)
    if subscription is None:
        not_applicable(f"{package} is not installed yet")
    approval = (subscription.get("spec") or {}).get("installPlanApproval") or "Automatic"
    if env.config.production and approval != "Manual":
        fail(
            f"{describe_subscription(subscription)}: installPlanApproval {approval}; Manual recommended for"
            f" production (env {env.name} is production)"
        )
    note(f"{describe_subscription(subscription)}: installPlanApproval {approval}")


@check(
    "preflight.operators.chart-channels",
    level=BLOCKING,
    remediation="Set operators.<name>.channel in charts/bootstrap-operators (values.yaml, or the env's"
    " values-<env>.yaml that overrides it) to a channel that compatibility.yaml lists for the cluster's"
    " OpenShift version. A channel listed only by a row marked unverified in compatibility.yaml is a WARN:"
    " confirm the row against Red Hat's lifecycle page or release notes and cite it there.",
    sources=("operator-compatibility",),
)
def test_chart_channels(cluster: Cluster, env: EnvTarget, settings: RunSettings) -> None:
    """The channels charts/bootstrap-operators pins for this env (values.yaml with values-common.yaml and
    values-<env>.yaml merged on top, as helm renders it) are supported on the cluster's OpenShift version."""
    chart = chart_operators(settings.charts_dir, env.name)
    if not chart.files:
        not_applicable(f"{settings.charts_dir / 'bootstrap-operators'} has no values files yet: nothing pinned")
    if not chart.operators:
        fail(f"charts/bootstrap-operators ({chart.described}) pins no operators for env {env.name}")
    reading = read_openshift_version(cluster)
    judgements = [
        judge_channel(settings, package=pinned.package, channel=pinned.channel, reading=reading, where=pinned.where)
        for pinned in chart.operators
    ]
    note(f"env {env.name} renders {chart.described}")
    conclude_channels(env, judgements)
