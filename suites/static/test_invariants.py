"""Static: the invariants the GitOps layout promises, checked on the rendered charts of every env."""

from pathlib import Path
from typing import Any

import pytest

from fixtures.charts import IN_CLUSTER, Chart, Renderer, containers, discover, step_images
from fixtures.checks import BLOCKING, check, fail, note, warn
from fixtures.conventions import SECRETS_READ
from fixtures.gitops import (
    DETERMINISTIC_TAG,
    FLOATING_TAGS,
    IMAGE_UPDATER_PREFIX,
    by_kind,
    image_tag,
    nested_applications,
    umbrella_for,
)
from fixtures.openshift import name_of
from fixtures.operators import ChannelFinding
from fixtures.settings import RunSettings
from fixtures.tekton import referenced_tasks, step_containers

pytestmark = pytest.mark.static

NESTED_APPS = ("bitiq-sample-app", "ci-pipelines", "image-updater")
SAMPLE_APP_VALUES = "charts/bitiq-sample-app/values-{env}.yaml"
RUNNER_CHART = "conformance-runner"
READ_VERBS = frozenset({"get", "list", "watch"})
# The only requests besides reads the suite sends: reviews, which ask a question and store nothing.
SELF_REVIEW_GROUPS = frozenset({"authentication.k8s.io", "authorization.k8s.io"})
# Review APIs change nothing: who am I, may I, may this ServiceAccount (asked, never tried).
SELF_REVIEW_RESOURCES = frozenset({"selfsubjectreviews", "selfsubjectaccessreviews", "subjectaccessreviews"})


def chart_named(settings: RunSettings, chart_name: str) -> Chart:
    for chart in discover(settings.charts_dir):
        if chart.name == chart_name:
            return chart
    fail(f"chart {chart_name} not found under {settings.charts_dir}")


@check(
    "static.gitops.prod-in-cluster",
    level=BLOCKING,
    remediation="Set envs[].clusterServer to https://kubernetes.default.svc in charts/argocd-apps/values.yaml,"
    " or turn on centralArgo.enabled and follow docs/CENTRAL-ARGO.md.",
    sources=("argocd-in-cluster-server",),
)
def test_in_cluster_unless_central(settings: RunSettings, chart_env: str) -> None:
    """An env's clusterServer is in-cluster unless the central-Argo mode is on."""
    argocd_apps = chart_named(settings, "argocd-apps")
    values = argocd_apps.values(chart_env)
    central = bool((values.get("centralArgo") or {}).get("enabled"))
    env = next(entry for entry in values.get("envs") or [] if entry.get("name") == chart_env)
    server = str(env.get("clusterServer"))
    if server != IN_CLUSTER and not central:
        fail(
            f"envs[{chart_env}].clusterServer is {server} but centralArgo.enabled is false: nested"
            " Applications would be created on a cluster without Argo CD"
        )
    note(f"envs[{chart_env}].clusterServer {server} ({'central' if central else 'in-cluster'} mode)")


@check(
    "static.gitops.nested-destinations",
    level=BLOCKING,
    remediation="Nested Applications must deploy where the umbrella says: use .Values.destinationServer in"
    " charts/bitiq-umbrella/templates/applications.yaml and pass clusterServer from the ApplicationSet.",
    sources=("argocd-in-cluster-server",),
)
def test_nested_destinations(renderer: Renderer, settings: RunSettings, chart_env: str) -> None:
    """The umbrella and each nested Application deploy to the env's cluster, consistently."""
    umbrella = umbrella_for(renderer, chart_named(settings, "argocd-apps"), chart_env)
    cluster_server = str(umbrella.element.get("clusterServer"))
    problems = []
    wanted_umbrella = IN_CLUSTER if umbrella.central else cluster_server
    if umbrella.destination_server != wanted_umbrella:
        problems.append(f"umbrella destination {umbrella.destination_server}, want {wanted_umbrella}")
    applications = nested_applications(renderer, chart_named(settings, "bitiq-umbrella"), umbrella)
    for application in applications:
        server = ((application.get("spec") or {}).get("destination") or {}).get("server")
        if server != cluster_server:
            problems.append(f"{name_of(application)} destination {server}, want {cluster_server}")
    if problems:
        fail("; ".join(problems))
    note(f"{len(applications)} nested Applications -> {cluster_server}")


@check(
    "static.gitops.naming",
    level=BLOCKING,
    remediation="Name nested Applications <app>-<env> and label them bitiq.io/env=<env> and"
    " app.kubernetes.io/part-of=bitiq-umbrella (charts/bitiq-umbrella/templates/_helpers.tpl).",
)
def test_application_naming(renderer: Renderer, settings: RunSettings, chart_env: str) -> None:
    """The umbrella is bitiq-umbrella-<env>; nested Applications are <app>-<env>, labelled with env and part-of."""
    umbrella = umbrella_for(renderer, chart_named(settings, "argocd-apps"), chart_env)
    applications = nested_applications(renderer, chart_named(settings, "bitiq-umbrella"), umbrella)
    problems = []
    names = {name_of(application) for application in applications}
    wanted = {f"{app}-{chart_env}" for app in NESTED_APPS}
    if names != wanted:
        problems.append(f"nested Applications {sorted(names)}, want {sorted(wanted)}")
    for application in applications:
        labels = (application.get("metadata") or {}).get("labels") or {}
        if labels.get("bitiq.io/env") != chart_env or labels.get("app.kubernetes.io/part-of") != "bitiq-umbrella":
            problems.append(f"{name_of(application)} labels {labels}")
    if problems:
        fail("; ".join(problems))
    note(f"{', '.join(sorted(names))}")


@check(
    "static.operators.channels-pinned",
    level=BLOCKING,
    remediation="Pin operators.<name>.channel in charts/bootstrap-operators/values.yaml to a channel that"
    " compatibility.yaml lists for openshiftVersion. A channel listed only by a row marked unverified is a WARN:"
    " confirm it against Red Hat's lifecycle page or release notes and cite the source in compatibility.yaml.",
    sources=("operator-compatibility",),
)
def test_operator_channels(settings: RunSettings, chart_env: str) -> None:
    """Every Subscription channel of bootstrap-operators is pinned and listed for its openshiftVersion."""
    values = chart_named(settings, "bootstrap-operators").values(chart_env)
    version = str(values.get("openshiftVersion", ""))
    table = settings.compatibility()
    problems, notes, unverified = [], [], []
    for key, operator in (values.get("operators") or {}).items():
        finding = table.judge(str(operator.get("package")), str(operator.get("channel") or ""), version)
        if finding is ChannelFinding.UNVERIFIED:
            message = table.unverified_message(str(operator.get("package")), str(operator.get("channel")), version)
            unverified.append(f"operators.{key}: {message}")
        elif finding is not ChannelFinding.COMPATIBLE:
            supported = ", ".join(table.channels(str(operator.get("package")), version)) or "none listed"
            problems.append(
                f"operators.{key}.channel {operator.get('channel') or '(unset)'} is {finding.value}"
                f" for OpenShift {version} (supported: {supported})"
            )
        notes.append(f"{key}: {operator.get('channel')}")
    if problems:
        fail("; ".join(problems + unverified))
    if unverified:
        warn("; ".join(unverified))
    note(f"OpenShift {version}: {', '.join(notes)}")


@check(
    "static.images.deterministic-tags",
    level=BLOCKING,
    remediation="Pin every image: the sample app's to v<x.y.z>-commit.<sha> (the Image Updater writes"
    " them), every other image to a release tag or digest; never latest.",
)
def test_deterministic_tags(renderer: Renderer, settings: RunSettings, chart: Chart, chart_env: str) -> None:
    """Every image is pinned (no latest or floating tag); the sample app's tags are deterministic."""
    sample_repos = {
        str(
            (chart_named(settings, "bitiq-sample-app").values(chart_env).get(component) or {})
            .get("image", {})
            .get("repository")
        )
        for component in ("backend", "frontend")
    }
    problems, seen = [], 0
    for obj in renderer.objects(chart, chart_env):
        images = [(where, str(container.get("image", ""))) for where, container, _ in containers(obj)]
        images += list(step_images(obj))
        for where, image in images:
            seen += 1
            tag = image_tag(image)
            repository = image.rsplit(":", 1)[0] if tag not in ("", "@digest") else image.split("@")[0]
            if tag in FLOATING_TAGS:
                problems.append(f"{where}: {image} is not pinned")
            elif repository in sample_repos and not DETERMINISTIC_TAG.match(tag):
                problems.append(f"{where}: {image} is not v<x.y.z>-commit.<sha>")
    if problems:
        fail("; ".join(problems))
    note(f"{seen} images pinned")


@check(
    "static.release.app-version",
    level=BLOCKING,
    remediation="Bump charts/bitiq-umbrella/Chart.yaml appVersion with the sample app's tags, or write the"
    " release's tags into values-<env>.yaml.",
)
def test_release_version(settings: RunSettings, chart_env: str) -> None:
    """The sample app's tags in the env carry the umbrella chart's appVersion (v<appVersion>-commit.<sha>)."""
    app_version = str(chart_named(settings, "bitiq-umbrella").metadata.get("appVersion", ""))
    values = chart_named(settings, "bitiq-sample-app").values(chart_env)
    problems = []
    for component in ("backend", "frontend"):
        tag = str(((values.get(component) or {}).get("image") or {}).get("tag", ""))
        if not tag.startswith(f"v{app_version}-commit."):
            problems.append(f"{component}.image.tag {tag or '(unset)'} is not v{app_version}-commit.<sha>")
    if problems:
        fail(f"umbrella appVersion {app_version}: " + "; ".join(problems))
    note(f"appVersion {app_version} matches the {chart_env} tags")


@check(
    "static.imageupdater.write-back",
    level=BLOCKING,
    remediation="Annotate bitiq-sample-app-<env> with write-back-method git, git-branch = targetRevision and"
    " write-back-target helmvalues:/charts/bitiq-sample-app/values-<env>.yaml (an existing file).",
    sources=("imageupdater-helmvalues-write-back",),
)
def test_image_updater_write_back(renderer: Renderer, settings: RunSettings, chart_env: str) -> None:
    """The sample app's Image Updater annotations write deterministic tags back to the env's own values file."""
    umbrella = umbrella_for(renderer, chart_named(settings, "argocd-apps"), chart_env)
    applications = nested_applications(renderer, chart_named(settings, "bitiq-umbrella"), umbrella)
    sample = next((app for app in applications if name_of(app) == f"bitiq-sample-app-{chart_env}"), None)
    if sample is None:
        fail(f"no Application bitiq-sample-app-{chart_env} in the umbrella render")
    annotations = {
        key.removeprefix(IMAGE_UPDATER_PREFIX): value
        for key, value in ((sample.get("metadata") or {}).get("annotations") or {}).items()
        if key.startswith(IMAGE_UPDATER_PREFIX)
    }
    wanted_target = "helmvalues:/" + SAMPLE_APP_VALUES.format(env=chart_env)
    problems = []
    method = str(annotations.get("write-back-method"))
    if method != "git" and not method.startswith("git:"):  # git:<credentials> is git write-back too
        problems.append(f"write-back-method {annotations.get('write-back-method')}, want git")
    target = annotations.get("write-back-target", "")
    if target != wanted_target:
        problems.append(f"write-back-target {target or '(none)'}, want {wanted_target}")
    target_file = Path(settings.charts_dir).parent / target.removeprefix("helmvalues:/")
    if target.startswith("helmvalues:/") and not target_file.is_file():
        problems.append(f"write-back target file {target_file} does not exist")
    branch = umbrella.parameters.get("targetRevision")
    if annotations.get("git-branch") != branch:
        problems.append(f"git-branch {annotations.get('git-branch')}, want targetRevision {branch}")
    for alias in ("backend", "frontend"):
        allow = annotations.get(f"{alias}.allow-tags", "")
        if allow != f"regexp:{DETERMINISTIC_TAG.pattern}":
            problems.append(f"{alias}.allow-tags {allow or '(none)'} is not the deterministic-tag regexp")
    if problems:
        fail(f"bitiq-sample-app-{chart_env}: " + "; ".join(problems))
    note(f"writes back to {wanted_target} on {branch}")


def sample_app_annotations(renderer: Renderer, settings: RunSettings, chart_env: str) -> dict[str, str]:
    umbrella = umbrella_for(renderer, chart_named(settings, "argocd-apps"), chart_env)
    applications = nested_applications(renderer, chart_named(settings, "bitiq-umbrella"), umbrella)
    sample = next((app for app in applications if name_of(app) == f"bitiq-sample-app-{chart_env}"), None)
    if sample is None:
        fail(f"no Application bitiq-sample-app-{chart_env} in the umbrella render")
    return {
        key.removeprefix(IMAGE_UPDATER_PREFIX): str(value)
        for key, value in ((sample.get("metadata") or {}).get("annotations") or {}).items()
        if key.startswith(IMAGE_UPDATER_PREFIX)
    }


def role_grants_get(role: dict[str, Any], secret_name: str) -> bool:
    return any(
        "" in (rule.get("apiGroups") or [])
        and "secrets" in (rule.get("resources") or [])
        and ({"get", "*"} & set(rule.get("verbs") or []))
        and (not rule.get("resourceNames") or secret_name in rule["resourceNames"])
        for rule in role.get("rules") or []
    )


@check(
    "static.imageupdater.git-credentials",
    level=BLOCKING,
    remediation="Annotate bitiq-sample-app-<env> with write-back-method `git:secret:` + <namespace>/<secret> naming"
    " the updater's own git credentials (bitiq-umbrella), and let the image-updater chart's Role, bound to the"
    " updater's ServiceAccount in that namespace, `get` that Secret by name (image-updater:gitCredentialsSecret)."
    " Plain `git` reuses Argo CD's repository credentials, which the updater's Role cannot read.",
    sources=("imageupdater-git-secret", "imageupdater-repocreds-default"),
)
def test_image_updater_git_credentials(renderer: Renderer, settings: RunSettings, chart_env: str) -> None:
    """The write-back annotation names a git credentials Secret (`git:secret:<ns>/<name>`) that the image-updater
    chart's Role, bound to the Deployment's ServiceAccount in that namespace, may `get`."""
    method = sample_app_annotations(renderer, settings, chart_env).get("write-back-method", "")
    if not method.startswith("git:secret:"):
        fail(
            f"bitiq-sample-app-{chart_env}: write-back-method {method or '(none)'}: without git:secret:<ns>/<name>"
            " the updater reuses Argo CD's repository credentials, which its Role cannot read"
        )
    namespace, _, secret_name = method.removeprefix("git:secret:").partition("/")
    chart = chart_named(settings, "image-updater")
    objects = renderer.objects(chart, chart_env)
    chart_namespace = chart.namespace(chart_env)
    deployment = next(iter(by_kind(objects, "Deployment")), None)
    account = str(((deployment or {}).get("spec") or {}).get("template", {}).get("spec", {}).get("serviceAccountName"))
    roles = {name_of(role): role for role in by_kind(objects, "Role")}
    bound = [
        roles[str((binding.get("roleRef") or {}).get("name"))]
        for binding in by_kind(objects, "RoleBinding")
        if (binding.get("roleRef") or {}).get("kind") == "Role"
        and str((binding.get("roleRef") or {}).get("name")) in roles
        and any(
            subject.get("kind") == "ServiceAccount" and subject.get("name") == account
            for subject in binding.get("subjects") or []
        )
    ]
    problems = []
    if namespace != chart_namespace:
        problems.append(f"the Secret is in {namespace}, the updater's Role in {chart_namespace}")
    if not any(role_grants_get(role, secret_name) for role in bound):
        problems.append(
            f"no Role bound to ServiceAccount {account} in the image-updater chart may get Secret {secret_name}"
        )
    if problems:
        fail(f"write-back-method git with credentials Secret {namespace}/{secret_name}: " + "; ".join(problems))
    note(
        f"write-back-method git with credentials Secret {namespace}/{secret_name}; ServiceAccount"
        f" {chart_namespace}/{account} may get it"
    )


@check(
    "static.routes.tls-on-base-domain",
    level=BLOCKING,
    remediation="Route hosts are <name>.<baseDomain> of the env (values-<env>.yaml baseDomain) with"
    " spec.tls.termination edge, reencrypt or passthrough.",
    sources=("openshift-route-tls-termination",),
)
def test_routes(renderer: Renderer, settings: RunSettings, chart: Chart, chart_env: str) -> None:
    """Every Route is on the env's baseDomain and terminates TLS."""
    base_domain = settings.known_envs[chart_env].base_domain
    problems, routes = [], by_kind(renderer.objects(chart, chart_env), "Route")
    for route in routes:
        spec = route.get("spec") or {}
        host = str(spec.get("host", ""))
        if not host.endswith("." + base_domain):
            problems.append(f"Route {name_of(route)} host {host or '(none)'} is not under {base_domain}")
        if ((spec.get("tls") or {}).get("termination")) not in ("edge", "reencrypt", "passthrough"):
            problems.append(f"Route {name_of(route)} has no TLS termination")
    if problems:
        fail("; ".join(problems))
    note(f"{len(routes)} Routes on {base_domain} with TLS" if routes else "no Routes")


def hardening_gaps(container: dict[str, Any], pod_security: dict[str, Any], resources_field: str) -> list[str]:
    """How one container falls short of the hardening every workload promises (docs/HARDENING.md).

    ``pod_security`` is the pod's securityContext, which may give runAsNonRoot and runAsUser for all
    its containers; ``resources_field`` is where requests and limits go (Tekton v1 steps say
    computeResources).
    """
    security = container.get("securityContext") or {}
    gaps: list[str] = []
    missing: list[str] = []
    if security.get("privileged"):
        gaps.append("is privileged")
    user = security.get("runAsUser", pod_security.get("runAsUser"))
    if user == 0:
        gaps.append("runs as root (runAsUser: 0)")
    if not (security.get("runAsNonRoot") or pod_security.get("runAsNonRoot")):
        missing.append("runAsNonRoot")
    if security.get("allowPrivilegeEscalation") is not False:
        missing.append("allowPrivilegeEscalation: false")
    if "ALL" not in ((security.get("capabilities") or {}).get("drop") or []):
        missing.append("capabilities drop ALL")
    resources = container.get(resources_field) or {}
    if not resources.get("requests") or not resources.get("limits"):
        missing.append(f"{resources_field} requests and limits")
    if missing:
        gaps.append(f"lacks {', '.join(missing)}")
    return gaps


@check(
    "static.workloads.hardened",
    level=BLOCKING,
    remediation="Give every container, Tekton steps and sidecars included, runAsNonRoot, allowPrivilegeEscalation:"
    " false, capabilities drop ALL, resources (computeResources on Tekton v1 steps) requests and limits; never"
    " privileged or runAsUser 0.",
    sources=("k8s-pss-restricted", "openshift-scc-restricted-v2"),
)
def test_workloads_hardened(renderer: Renderer, chart: Chart, chart_env: str) -> None:
    """Every container, Tekton steps and sidecars included, runs non-root and unprivileged, without privilege
    escalation or capabilities, with requests and limits."""
    problems: list[str] = []
    referenced: list[str] = []
    count = 0
    for obj in renderer.objects(chart, chart_env):
        for where, container, pod in containers(obj):
            count += 1
            gaps = hardening_gaps(container, pod.get("securityContext") or {}, "resources")
            if gaps:
                problems.append(f"{where} {', '.join(gaps)}")
        # Tekton builds a pod per TaskRun from these; the same rules hold for its containers.
        for step in step_containers(obj):
            count += 1
            gaps = hardening_gaps(step.container, step.pod_security, step.resources_field)
            if gaps:
                problems.append(f"{step.where} {', '.join(gaps)}")
        referenced += referenced_tasks(obj)
    if problems:
        fail("; ".join(problems))
    # Steps of referenced Tasks are not in the render: said, so a PASS does not claim to have judged them.
    unjudged = f"; not rendered, not judged: referenced tasks {', '.join(referenced)}" if referenced else ""
    note(f"{count} containers hardened{unjudged}")


@check(
    "static.secrets.no-data",
    level=BLOCKING,
    remediation="Never render secret values: create them from stdin, External Secrets or Sealed Secrets"
    " (docs/SECRETS.md, charts/secrets-examples).",
)
def test_no_secret_data(renderer: Renderer, chart: Chart, chart_env: str) -> None:
    """No Secret in a default render carries data or stringData."""
    leaking = [
        name_of(secret)
        for secret in by_kind(renderer.objects(chart, chart_env), "Secret")
        if secret.get("data") or secret.get("stringData")
    ]
    if leaking:
        fail(f"Secrets with values in the render: {', '.join(leaking)}")
    note("no Secret values rendered")


def rbac_rule_problems(rule: dict[str, Any]) -> list[str]:
    """What makes one RBAC rule more than a read of named resources (or one of the two self-reviews)."""
    problems = []
    verbs = [str(verb) for verb in rule.get("verbs") or []]
    groups = [str(group) for group in rule.get("apiGroups") or []]
    resources = [str(resource) for resource in rule.get("resources") or []]
    for field, values in (("verbs", verbs), ("apiGroups", groups), ("resources", resources)):
        wild = [value for value in values if "*" in value]
        if wild:
            problems.append(f"wildcard in {field} ({', '.join(wild)})")
    wild_urls = [url for url in rule.get("nonResourceURLs") or [] if "*" in str(url)]
    if wild_urls:
        problems.append(f"wildcard in nonResourceURLs ({', '.join(map(str, wild_urls))})")
    self_review = bool(groups and resources) and (
        set(groups) <= SELF_REVIEW_GROUPS and set(resources) <= SELF_REVIEW_RESOURCES
    )
    for verb in verbs:
        if verb in READ_VERBS or "*" in verb or (verb == "create" and self_review):
            continue
        problems.append(f"verb {verb} is not get/list/watch")
    return problems


def secret_rule_problems(rule: dict[str, Any]) -> list[str]:
    """A rule on Secrets reads named ones only: `get` with resourceNames, never list or watch (a list returns
    every value in the namespace: Argo CD's admin password, repository and cluster credentials)."""
    if "secrets" not in [str(resource) for resource in rule.get("resources") or []]:
        return []
    problems = []
    broad = sorted({str(verb) for verb in rule.get("verbs") or []} & {"list", "watch", "*"})
    if broad:
        problems.append(f"secrets with {', '.join(broad)} (read secrets by name: get with resourceNames)")
    if not rule.get("resourceNames"):
        problems.append("secrets without resourceNames (every Secret, not the ones the suite reads)")
    return problems


def describe_rule(rule: dict[str, Any]) -> str:
    fields = ("apiGroups", "resources", "nonResourceURLs", "resourceNames", "verbs")
    shown = {field: [str(value) or '""' for value in rule[field]] for field in fields if field in rule}
    return ", ".join(f"{field} [{', '.join(values)}]" for field, values in shown.items())


@check(
    "static.runner.read-only-rbac",
    level=BLOCKING,
    remediation="The in-cluster runner only reads: grant get/list/watch on named API groups and resources"
    " (create only on selfsubjectreviews, selfsubjectaccessreviews and subjectaccessreviews), no wildcards,"
    " Secrets only with get on the names of conformance-runner:secretNames (= fixtures/conventions.py"
    " SECRETS_READ), never list or watch,"
    " and bind only the roles"
    " the chart renders (charts/conformance-runner/templates/rbac.yaml).",
    sources=("k8s-rbac-resourcenames",),
)
def test_runner_rbac_read_only(renderer: Renderer, settings: RunSettings, chart_env: str) -> None:
    """Every Role and ClusterRole of the conformance-runner chart grants only get/list/watch on named resources
    (create only on the two self-review APIs), without wildcards, and its bindings bind only those roles."""
    runner = chart_named(settings, RUNNER_CHART)
    objects = renderer.objects(runner, chart_env)
    default_namespace = runner.namespace(chart_env)

    def key(kind: str, obj_name: str, namespace: str | None) -> tuple[str, str, str]:
        return (kind, obj_name, (namespace or default_namespace) if kind == "Role" else "")

    roles = [obj for obj in objects if obj.get("kind") in ("Role", "ClusterRole")]
    rendered = {key(str(role["kind"]), name_of(role), (role.get("metadata") or {}).get("namespace")) for role in roles}
    problems, rule_count = [], 0
    granted_secrets: set[tuple[str, str]] = set()
    for role in roles:
        namespace = (role.get("metadata") or {}).get("namespace")
        where = f"{role['kind']} {namespace + '/' if role['kind'] == 'Role' and namespace else ''}{name_of(role)}"
        if role.get("aggregationRule"):
            problems.append(f"{where} has an aggregationRule: it would take in the rules of other ClusterRoles")
        for index, rule in enumerate(role.get("rules") or []):
            rule_count += 1
            found = rbac_rule_problems(rule) + secret_rule_problems(rule)
            if found:
                problems.append(f"{where} rules[{index}] ({describe_rule(rule)}): {'; '.join(found)}")
            if "secrets" in (rule.get("resources") or []) and role["kind"] == "Role":
                granted_secrets |= {(str(namespace), str(name_)) for name_ in rule.get("resourceNames") or []}
    wanted_secrets = {(namespace, name_) for namespace, names in SECRETS_READ.items() for name_ in names}
    if granted_secrets != wanted_secrets:
        extra, lacking = sorted(granted_secrets - wanted_secrets), sorted(wanted_secrets - granted_secrets)
        problems.append(
            "the Roles' secret resourceNames differ from the secrets the suite reads (fixtures/conventions.py"
            " SECRETS_READ):"
            + (f" grants {', '.join('/'.join(pair) for pair in extra)} it never reads" if extra else "")
            + (f" lacks {', '.join('/'.join(pair) for pair in lacking)}" if lacking else "")
        )
    for binding in by_kind(objects, "RoleBinding") + by_kind(objects, "ClusterRoleBinding"):
        ref = binding.get("roleRef") or {}
        namespace = (binding.get("metadata") or {}).get("namespace")
        if key(str(ref.get("kind")), str(ref.get("name")), namespace) not in rendered:
            problems.append(
                f"{binding['kind']} {name_of(binding)} binds {ref.get('kind')} {ref.get('name')},"
                " which the chart does not render"
            )
    if problems:
        fail("; ".join(problems))
    note(f"{len(roles)} roles, {rule_count} rules: read verbs only, self-reviews excepted; no wildcards")
