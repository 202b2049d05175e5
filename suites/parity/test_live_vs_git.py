"""Parity: the live objects are what git says at the revision Argo CD reports as synced (not its sync status)."""

import pytest

from fixtures.charts import Renderer
from fixtures.checks import BLOCKING, check, fail, not_evaluated, note, warn
from fixtures.cluster import Cluster
from fixtures.conventions import GITOPS_NAMESPACE
from fixtures.git_probe import GitReader
from fixtures.live_diff import ARGO, compare_env
from fixtures.settings import EnvTarget

pytestmark = pytest.mark.parity

SHOWN = 12  # objects listed in the evidence; the rest counted


def describe_revisions(revisions: dict[str, str]) -> str:
    """Which revision each Application was rendered at, one line when they agree."""
    distinct = set(revisions.values())
    if len(distinct) == 1:
        return f"{', '.join(sorted(revisions))} at {distinct.pop()[:12]}"
    return "; ".join(f"{app} at {revision[:12]}" for app, revision in sorted(revisions.items()))


@check(
    "parity.gitops.live-matches-git",
    level=BLOCKING,
    remediation="A field listed differs from what the charts render at the synced revision: someone or something"
    " edited it live (`oc edit`, a controller), or an ignoreDifferences / self-heal off lets Argo CD keep it. Revert"
    " it by syncing (`argocd app sync <app> --force`, or delete the object and let Argo CD recreate it), or change"
    " git if the live value is the right one. A missing object: sync the Application (is it pruned, or was its sync"
    " denied?).",
    sources=(
        "argocd-sync-revision",
        "argocd-source-override-files",
        "argocd-helm-render",
        "argocd-ignore-differences",
        "live-diff-server-fields",
        "imageupdater-helmvalues-write-back",
    ),
)
def test_live_matches_git(cluster: Cluster, env: EnvTarget, git: GitReader, renderer: Renderer) -> None:
    """Every object the umbrella and its nested Applications render at the revision Argo CD reports as synced
    (read from git, rendered with the pinned helm as Argo CD would) exists live with the same values in every
    field the render sets, apart from the ignoreDifferences the Applications declare."""
    umbrella = f"bitiq-umbrella-{env.name}"
    if cluster.find(ARGO, "applications", umbrella, GITOPS_NAMESPACE) is None:
        not_evaluated(
            f"Application {GITOPS_NAMESPACE}/{umbrella} does not exist: no synced revision to read",
            root_cause="parity.gitops.umbrella-healthy",
        )
    comparison = compare_env(cluster, env.name, git=git, helm=renderer.helm, repository_override=env.probes.git_repo)
    unread = f"; could not render: {'; '.join(comparison.unreadable)}" if comparison.unreadable else ""
    revisions = describe_revisions(comparison.revisions)
    if comparison.overrides:
        revisions += f" with the override files {', '.join(comparison.overrides)}"
    ignored = f"; ignoreDifferences honoured: {', '.join(comparison.ignored)}" if comparison.ignored else ""
    drifted, unverified = comparison.drifted, comparison.unverified
    if drifted:
        listed = [f"{finding.where}: {finding.missing or ', '.join(finding.paths)}" for finding in drifted[:SHOWN]]
        more = f"; and {len(drifted) - SHOWN} more" if len(drifted) > SHOWN else ""
        fail(
            f"{len(drifted)} of {comparison.compared} objects differ from git: "
            + "; ".join(listed)
            + more
            + (
                f"; and {len(unverified)} objects unverified (an ignoreDifferences this check cannot apply)"
                if unverified
                else ""
            )
            + f" (rendered {revisions}{ignored}){unread}"
        )
    if comparison.unreadable:
        not_evaluated(
            f"cannot render what Argo CD synced: {'; '.join(comparison.unreadable)}"
            + (f" (compared the others: {comparison.compared} objects, rendered {revisions})" if revisions else "")
        )
    if unverified:
        warn(
            f"unverified: {len(unverified)} objects carry ignoreDifferences this check cannot apply: "
            + "; ".join(
                f"{finding.where}: {finding.unverified}"
                + (f" (differing: {', '.join(finding.paths)})" if finding.paths else "")
                for finding in unverified[:SHOWN]
            )
            + f"; the other {comparison.compared - len(unverified)} match git (rendered {revisions})"
        )
    note(f"{comparison.compared} objects match git in every rendered field (rendered {revisions}{ignored})")
