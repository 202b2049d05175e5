"""Parity: the Image Updater writes new deterministic tags back to git, and the app runs them."""

import re
from datetime import datetime
from typing import Any

import pytest
import yaml

from fixtures import capture
from fixtures.checks import BLOCKING, check, fail, not_evaluated, note
from fixtures.cluster import Cluster, service_account_user
from fixtures.conventions import (
    DETERMINISTIC_TAG_PATTERN,
    GIT_CREDENTIAL_KEYS,
    GIT_SECRET_METHOD,
    GITOPS_NAMESPACE,
    IMAGE_UPDATER_NAMESPACE,
    IMAGE_UPDATER_PREFIX,
    IMAGE_UPDATER_SERVICE_ACCOUNT,
    IMAGE_UPDATER_WRITE_BACK_METHOD,
    SAMPLE_APP,
    git_credentials_secret,
)
from fixtures.errors import ConfigurationError
from fixtures.git_probe import GitReader, without_credentials
from fixtures.registry import ImageRef, RegistryClient, RegistryUnreadable
from fixtures.settings import EnvTarget, RunSettings

pytestmark = pytest.mark.parity

ALIASES = ("backend", "frontend")


def sample_app(cluster: Cluster, env: EnvTarget) -> dict[str, Any]:
    name = f"{SAMPLE_APP}-{env.name}"
    app = cluster.find("argoproj.io", "applications", name, GITOPS_NAMESPACE)
    if app is None:
        fail(f"Application {GITOPS_NAMESPACE}/{name} does not exist")
    return app


def annotations_of(app: dict[str, Any]) -> dict[str, str]:
    return {
        key.removeprefix(IMAGE_UPDATER_PREFIX): str(value)
        for key, value in ((app.get("metadata") or {}).get("annotations") or {}).items()
        if key.startswith(IMAGE_UPDATER_PREFIX)
    }


def image_list(annotations: dict[str, str]) -> dict[str, str]:
    entries = [entry.strip() for entry in annotations.get("image-list", "").split(",") if "=" in entry]
    return {
        alias: repository.split(":", 1)[0]
        if repository.count(":") and "/" not in repository.rsplit(":", 1)[-1]
        else repository
        for alias, repository in (entry.split("=", 1) for entry in entries)
    }


@check(
    "parity.imageupdater.annotations",
    level=BLOCKING,
    remediation="The umbrella chart sets these annotations on bitiq-sample-app-<env>: image-list with backend and"
    " frontend, git write-back (write-back-method `git:secret:` + openshift-gitops/image-updater-git-creds, the"
    " Secret the image-updater chart's Role may read) to helmvalues:/charts/bitiq-sample-app/values-<env>.yaml"
    " on the tracked branch, allow-tags of deterministic tags.",
    sources=("imageupdater-git-secret",),
)
def test_annotations(cluster: Cluster, env: EnvTarget) -> None:
    """bitiq-sample-app-<env> carries the Image Updater annotations the umbrella chart declares."""
    app = sample_app(cluster, env)
    annotations = annotations_of(app)
    branch = ((app.get("spec") or {}).get("source") or {}).get("targetRevision")
    wanted = {
        "write-back-method": IMAGE_UPDATER_WRITE_BACK_METHOD,
        "git-branch": str(branch),
        "write-back-target": f"helmvalues:/charts/{SAMPLE_APP}/values-{env.name}.yaml",
    }
    for alias in ALIASES:
        wanted[f"{alias}.allow-tags"] = f"regexp:{DETERMINISTIC_TAG_PATTERN}"
        wanted[f"{alias}.update-strategy"] = "newest-build"
    shown = {"write-back-method": describe_method}
    problems = [
        f"{key}={shown.get(key, repr)(annotations.get(key, '(absent)'))}, want {shown.get(key, repr)(value)}"
        for key, value in wanted.items()
        if annotations.get(key) != value
    ]
    missing_aliases = [alias for alias in ALIASES if alias not in image_list(annotations)]
    if missing_aliases:
        problems.append(f"image-list {annotations.get('image-list', '(absent)')!r} lacks {', '.join(missing_aliases)}")
    if problems:
        fail(f"Application {SAMPLE_APP}-{env.name}: " + "; ".join(problems))
    note(f"image-list {annotations['image-list']}; writes back to {wanted['write-back-target']} on {branch}")


def describe_method(method: str) -> str:
    """The write-back method for evidence: `git:secret:<ns>/<name>` is spelled out, since reports redact
    anything shaped like `secret: <value>`."""
    ref = method.removeprefix("git:secret:")
    return f"git with credentials Secret {ref}" if ref != method else method or "(absent)"


@check(
    "parity.imageupdater.git-credentials",
    level=BLOCKING,
    remediation="Create the Secret the write-back-method annotation names (docs/SECRETS.md: `username` and"
    " `password` for an HTTPS repository, `sshPrivateKey` for SSH) in openshift-gitops, and let the updater's Role"
    " `get` it by name (charts/image-updater, gitCredentialsSecret). Plain `git` reuses Argo CD's repository"
    " credentials, which the updater's Role cannot read.",
    sources=(
        "imageupdater-git-secret",
        "imageupdater-repocreds-default",
        "k8s-rbac-authorizer",
        "openshift-authorization-modes",
    ),
)
def test_git_credentials(cluster: Cluster, env: EnvTarget) -> None:
    """The git credentials Secret that write-back-method names exists with the keys the updater reads for the
    repository's scheme, and the updater's ServiceAccount may get it (a SubjectAccessReview; never a value)."""
    app = sample_app(cluster, env)
    annotations = annotations_of(app)
    method = annotations.get("write-back-method", "")
    if not method.startswith(GIT_SECRET_METHOD):
        fail(
            f"Application {SAMPLE_APP}-{env.name}: write-back-method {describe_method(method)} names no credentials"
            " Secret: the updater would reuse Argo CD's repository credentials, which its Role cannot read"
        )
    named = git_credentials_secret(app)
    if named is None:
        fail(f"write-back-method {describe_method(method)}: want git with a credentials Secret <namespace>/<name>")
    namespace, secret_name = named
    repository = annotations.get("git-repository") or str(((app.get("spec") or {}).get("source") or {}).get("repoURL"))
    scheme = "ssh" if repository.startswith(("git@", "ssh://")) else "https"
    problems = []
    found = cluster.read("", "secrets", secret_name, namespace)
    if found is None:
        problems.append(f"Secret {namespace}/{secret_name} does not exist")
    else:
        keys = set((found.get("data") or {}) | (found.get("stringData") or {}))
        key_sets = GIT_CREDENTIAL_KEYS[scheme]
        if not any(set(wanted) <= keys for wanted in key_sets):
            problems.append(
                f"Secret {namespace}/{secret_name} has keys {', '.join(sorted(keys)) or '(none)'}; for an {scheme}"
                f" repository the updater reads {' or '.join(' and '.join(wanted) for wanted in key_sets)}"
            )
    review = cluster.subject_can(
        service_account_user(IMAGE_UPDATER_NAMESPACE, IMAGE_UPDATER_SERVICE_ACCOUNT),
        "get",
        "",
        "secrets",
        namespace=namespace,
        name=secret_name,
    )
    if not review.allowed:
        problems.append(str(review))
    if problems:
        fail(f"write-back-method {describe_method(method)}: " + "; ".join(problems))
    note(f"write-back-method {describe_method(method)}: the Secret exists ({scheme} keys); {review}")


def _created(image: ImageRef, text: str) -> float:
    """The build time as epoch seconds; a config whose time cannot be parsed is unreadable, never 0."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise RegistryUnreadable(f"the config of {image} has a build time {text[:40]!r} that is not RFC 3339") from None


def _newest(registry: RegistryClient, image: ImageRef, allowed: re.Pattern[str]) -> tuple[str, float]:
    """The eligible tag of ``image``'s repository built last, and its build time (RegistryUnreadable if unknown)."""
    listed = registry.tags(image.registry, image.repository)
    if image.tag not in listed:
        # The tag exists (its manifest answered), so a list without it is not the whole list.
        raise RegistryUnreadable(
            f"registry {image.registry}: tags/list of {image.repository} ({len(listed)} tags) lacks {image.tag},"
            " which exists"
        )
    built = {}
    for candidate in filter(allowed.match, listed):
        candidate_image = ImageRef(image.registry, image.repository, candidate)
        built[candidate] = _created(candidate_image, registry.created(candidate_image))
    newest = max(built, key=lambda candidate: built[candidate])
    return newest, built[newest]


@check(
    "parity.imageupdater.write-back",
    level=BLOCKING,
    remediation="Check the updater's log (`oc -n openshift-gitops logs deploy/argocd-image-updater`): its git"
    " credentials (image-updater-git-creds, parity.imageupdater.git-credentials) and the registry credentials it"
    " pulls tags with.",
    sources=(
        "imageupdater-newest-build",
        "imageupdater-helmvalues-write-back",
        "oci-distribution-manifests",
        "argocd-app-status",
    ),
)
@pytest.mark.acceptance
@pytest.mark.smoke
def test_write_back(
    cluster: Cluster, env: EnvTarget, settings: RunSettings, registry: RegistryClient, git: GitReader
) -> None:
    """On the tracked branch, values-<env>.yaml sets the newest eligible tags, which exist and which the app runs.

    Both images (backend and frontend) must be in the image-list annotation. A registry that does not
    answer (credentials refused, 429, 5xx, a build time it cannot give) leaves the check NOT-EVALUATED,
    naming what it could not read.
    """
    app = sample_app(cluster, env)
    annotations = annotations_of(app)
    source = (app.get("spec") or {}).get("source") or {}
    repository = env.probes.git_repo or str(source.get("repoURL", ""))
    branch = annotations.get("git-branch") or str(source.get("targetRevision", "main"))
    path = f"charts/{SAMPLE_APP}/values-{env.name}.yaml"
    try:
        commit = git.last_commit(repository, branch, path)
        if commit is None:
            fail(f"no commit on {branch} touches {path}")
        values = yaml.safe_load(git.show(repository, branch, commit.sha, path)) or {}
    except ConfigurationError as error:
        fail(f"cannot read {path} from {without_credentials(repository)}: {error}")
    allowed = re.compile(DETERMINISTIC_TAG_PATTERN)
    running = set(((app.get("status") or {}).get("summary") or {}).get("images") or [])
    problems: list[str] = []
    notes: list[str] = []
    unreadable: list[str] = []  # what the registry did not answer: not a finding, never a pass
    listed = image_list(annotations)
    missing_aliases = [alias for alias in ALIASES if alias not in listed]
    if missing_aliases:
        problems.append(
            f"the image-list annotation {annotations.get('image-list', '(absent)')!r} lacks"
            f" {', '.join(missing_aliases)}: the Image Updater does not update what it does not list"
        )
    for alias, repo in listed.items():
        tag = str(((values.get(alias) or {}).get("image") or {}).get("tag", ""))
        image = ImageRef.parse(f"{repo}:{tag}")
        if not allowed.match(tag):
            problems.append(f"{alias}: {path} sets tag {tag or '(none)'}, which allow-tags does not allow")
            continue
        lookup = registry.manifest_digest(image)
        if not lookup.found:
            (unreadable if lookup.unreadable else problems).append(f"{alias}: {lookup.error}")
            continue
        try:
            newest, newest_built = _newest(registry, image, allowed)
            newest_age = capture.now() - newest_built  # the captured run's clock under --replay
            if newest != tag and newest_age > settings.writeback_grace:
                problems.append(
                    f"{alias}: the newest eligible tag {newest} (built {newest_age / 60:.0f} min ago) is not written"
                    f" back; {path} still sets {tag} (grace {settings.writeback_grace:g} s)"
                )
        except RegistryUnreadable as error:
            unreadable.append(f"{alias}: {error}")
        if f"{repo}:{tag}" not in running:
            problems.append(f"{alias}: the app runs {', '.join(sorted(running)) or 'no image'}, not {repo}:{tag}")
        notes.append(f"{alias} {tag}")
    if problems:
        could_not_read = f"; and could not read: {'; '.join(unreadable)}" if unreadable else ""
        fail(f"{path} at {commit}: " + "; ".join(problems) + could_not_read)
    if unreadable:
        not_evaluated(f"{path} at {commit}: could not read the registry: " + "; ".join(unreadable))
    note(f"{path} at {commit}: {', '.join(notes)}, newest eligible, in the registry and running")
