"""fixtures/kubeconfig.py against the sandbox's real kube-apiserver: each way a kubeconfig can name a user
authenticates as that user (SelfSubjectReview), and each misconfiguration is one line naming the fix."""

from __future__ import annotations

import base64
import json
import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from fixtures import kubeconfig
from fixtures.errors import ClusterUnreachable, KubeconfigError
from fixtures.kube import KubeTransport, Target
from fixtures.sandbox import Sandbox

WHOAMI = "/apis/authentication.k8s.io/v1/selfsubjectreviews"


def whoami(target: Target) -> str:
    with KubeTransport(target) as transport:
        review = transport.request(
            "POST", WHOAMI, body={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
        )
    return str(review["status"]["userInfo"]["username"])


def token_of(sandbox: Sandbox, user: str) -> str:
    document = yaml.safe_load(sandbox.kubeconfig(user).read_text())
    return str(document["users"][0]["user"]["token"])


def write_kubeconfig(path: Path, sandbox: Sandbox, user: dict[str, Any], **cluster: Any) -> Target:
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "sandbox",
                "cluster": {
                    "server": sandbox.server,
                    "certificate-authority-data": base64.b64encode(sandbox.ca_pem.encode()).decode(),
                    **cluster,
                },
            }
        ],
        "users": [{"name": "someone", "user": user}],
        "contexts": [{"name": "here", "context": {"cluster": "sandbox", "user": "someone"}}],
        "current-context": "here",
    }
    path.write_text(yaml.safe_dump(document))
    return Target(kubeconfig=str(path))


def exec_plugin(directory: Path, credential: dict[str, Any], *, exit_code: int = 0, api_version: str = "") -> Path:
    """A real executable printing an ExecCredential (and what KUBERNETES_EXEC_INFO asked, for the test)."""
    script = directory / "bin" / "credential-plugin"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        "asked = json.loads(os.environ['KUBERNETES_EXEC_INFO'])\n"
        f"open({str(directory / 'asked.json')!r}, 'w').write(json.dumps(asked))\n"
        f"open({str(directory / 'runs')!r}, 'a').write('run\\n')\n"
        f"print(json.dumps({{'apiVersion': {api_version!r} or asked['apiVersion'], 'kind': 'ExecCredential',"
        f" 'status': {credential!r}}}))\n"
        f"sys.exit({exit_code})\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_token(sandbox: Sandbox, tmp_path: Path) -> None:
    target = write_kubeconfig(tmp_path / "config", sandbox, {"token": token_of(sandbox, "reader")})
    assert whoami(target) == "reader"


def test_token_file_relative_to_the_kubeconfig(sandbox: Sandbox, tmp_path: Path) -> None:
    (tmp_path / "token").write_text(token_of(sandbox, "reader") + "\n")
    # tokenFile wins over token when both are set (client-go reads the file).
    target = write_kubeconfig(tmp_path / "config", sandbox, {"tokenFile": "token", "token": "not-this-one"})
    assert whoami(target) == "reader"


def test_client_certificate(sandbox: Sandbox, tmp_path: Path) -> None:
    certificate, key = sandbox.client_certificate("cert-user", ("bitiq:testers",))
    (tmp_path / "client.crt").write_text(certificate)
    user_with_files = {
        "client-certificate": str(tmp_path / "client.crt"),
        "client-key-data": base64.b64encode(key.encode()).decode(),
    }
    assert whoami(write_kubeconfig(tmp_path / "config", sandbox, user_with_files)) == "cert-user"


def test_exec_plugin(sandbox: Sandbox, tmp_path: Path) -> None:
    exec_plugin(tmp_path, {"token": token_of(sandbox, "reader"), "expirationTimestamp": "2099-01-01T00:00:00Z"})
    user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": "./bin/credential-plugin",  # a path: relative to the kubeconfig's directory
            "interactiveMode": "Never",
            "provideClusterInfo": True,
        }
    }
    target = write_kubeconfig(tmp_path / "config", sandbox, user)
    assert whoami(target) == "reader"
    kubeconfig.load(target.kubeconfig, None)  # the options check, then the connection: one run serves both
    assert (tmp_path / "runs").read_text().splitlines() == ["run"]
    asked = json.loads((tmp_path / "asked.json").read_text())
    assert asked["kind"] == "ExecCredential"
    assert asked["spec"]["interactive"] is False
    assert asked["spec"]["cluster"]["server"] == sandbox.server


def test_exec_plugin_runs_again_once_expired(sandbox: Sandbox, tmp_path: Path) -> None:
    exec_plugin(tmp_path, {"token": token_of(sandbox, "reader"), "expirationTimestamp": "2001-01-01T00:00:00Z"})
    user = {
        "exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": str(tmp_path / "bin/credential-plugin")}
    }
    credentials = kubeconfig.load(str(write_kubeconfig(tmp_path / "config", sandbox, user).kubeconfig), None)
    credentials.auth.authorization()
    assert len((tmp_path / "runs").read_text().splitlines()) == 2


def test_exec_plugin_client_certificate(sandbox: Sandbox, tmp_path: Path) -> None:
    certificate, key = sandbox.client_certificate("plugin-cert-user")
    exec_plugin(tmp_path, {"clientCertificateData": certificate, "clientKeyData": key})
    user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": str(tmp_path / "bin/credential-plugin"),
        }
    }
    assert whoami(write_kubeconfig(tmp_path / "config", sandbox, user)) == "plugin-cert-user"


def test_in_cluster(sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "token").write_text(token_of(sandbox, "reader"))
    (tmp_path / "ca.crt").write_text(sandbox.ca_pem)
    port = sandbox.server.rsplit(":", 1)[1]
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", port)
    credentials = kubeconfig.load_in_cluster(tmp_path)
    assert credentials.server == sandbox.server
    assert credentials.auth.authorization() == f"Bearer {token_of(sandbox, 'reader')}"


def test_tls_server_name(sandbox: Sandbox, tmp_path: Path) -> None:
    """The serving certificate names 127.0.0.1 and localhost: tls-server-name picks which one is checked."""
    user = {"token": token_of(sandbox, "reader")}
    assert whoami(write_kubeconfig(tmp_path / "good", sandbox, user, **{"tls-server-name": "localhost"})) == "reader"
    with pytest.raises(ClusterUnreachable, match="TLS handshake"):
        whoami(write_kubeconfig(tmp_path / "bad", sandbox, user, **{"tls-server-name": "elsewhere.example"}))


@pytest.mark.parametrize(
    ("user", "cluster", "message"),
    [
        ({"auth-provider": {"name": "oidc"}}, {}, "uses auth-provider, which this suite does not read"),
        ({"token": "x", "as": "someone-else"}, {}, "uses as, which this suite does not read"),
        ({"token": "x"}, {"insecure-skip-tls-verify": True}, "names a CA and insecure-skip-tls-verify"),
        ({"tokenFile": "missing"}, {}, "cannot read the token file"),
        ({"client-key-data": "not base64!"}, {}, "client-key-data is not base64-encoded PEM"),
        ({"exec": {"apiVersion": "client.authentication.k8s.io/v1alpha1", "command": "x"}}, {}, "exec apiVersion"),
        (
            {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "x", "env": ["NAME=value"]}},
            {},
            "is not a kubeconfig this suite can read",
        ),
        ({"token": "x"}, {"certificate-authority-data": "bm90IGEgY2VydGlmaWNhdGU="}, "is not a PEM certificate"),
        (
            {
                "exec": {
                    "apiVersion": "client.authentication.k8s.io/v1",
                    "command": "no-such-plugin",
                    "installHint": "brew it",
                }
            },
            {},
            "exec plugin no-such-plugin is not installed or not on PATH \\(brew it\\)",
        ),
    ],
    ids=[
        "auth-provider",
        "impersonation",
        "insecure-and-ca",
        "token-file",
        "bad-key-data",
        "exec-version",
        "exec-env-shape",
        "ca-not-pem",
        "exec-missing",
    ],
)
def test_refused_in_one_line(
    sandbox: Sandbox, tmp_path: Path, user: dict[str, Any], cluster: dict[str, Any], message: str
) -> None:
    target = write_kubeconfig(tmp_path / "config", sandbox, user, **cluster)
    with pytest.raises(KubeconfigError, match=message) as refused:
        KubeTransport(target)
    assert "\n" not in str(refused.value)


def test_exec_plugin_failures_quote_nothing_it_printed(sandbox: Sandbox, tmp_path: Path) -> None:
    exec_plugin(tmp_path, {"token": "s3cr3t-token-value"}, exit_code=3)
    user = {
        "exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": str(tmp_path / "bin/credential-plugin")}
    }
    with pytest.raises(KubeconfigError, match="exited with 3: run it by hand") as refused:
        KubeTransport(write_kubeconfig(tmp_path / "config", sandbox, user))
    assert "s3cr3t" not in str(refused.value)
    exec_plugin(tmp_path, {"token": "x"}, api_version="client.authentication.k8s.io/v1beta1")
    with pytest.raises(KubeconfigError, match=r"answered 'client\.authentication\.k8s\.io/v1beta1'"):
        KubeTransport(write_kubeconfig(tmp_path / "config", sandbox, user))


def test_unknown_context_and_unreadable_file(sandbox: Sandbox, tmp_path: Path) -> None:
    target = write_kubeconfig(tmp_path / "config", sandbox, {"token": "x"})
    with pytest.raises(KubeconfigError, match="no context named 'elsewhere'"):
        KubeTransport(Target(kubeconfig=target.kubeconfig, context="elsewhere"))
    with pytest.raises(KubeconfigError, match=r"cannot read .*absent"):
        KubeTransport(Target(kubeconfig=str(tmp_path / "absent")))


def test_client_key_file_never_left_behind(sandbox: Sandbox, tmp_path: Path) -> None:
    """ssl reads a client key only from a file: the one written for it is gone once the context is built."""
    certificate, key = sandbox.client_certificate("cert-user")
    encoded = {
        "client-certificate-data": base64.b64encode(certificate.encode()).decode(),
        "client-key-data": base64.b64encode(key.encode()).decode(),
    }

    def left() -> set[str]:
        return {name for name in os.listdir(tempfile.gettempdir()) if name.startswith("bitiq-tls-")}

    before = left()
    assert whoami(write_kubeconfig(tmp_path / "config", sandbox, encoded)) == "cert-user"
    assert left() == before
