"""The sandbox command line, end to end: up, env, status, down (twice), nothing left behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.errors import AccessDenied
from fixtures.kube import KubeTransport, Target
from fixtures.sandbox import Sandbox
from tests.conftest import REPO

CLI_TIMEOUT = 120


def sandbox_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fixtures.sandbox", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )


def processes_mentioning(marker: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if marker in cmdline and state != "Z" and entry.name != str(os.getpid()):
            found.append(cmdline)
    return found


def test_cli_lifecycle_leaves_nothing_running(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    up = sandbox_cli("up", "--state-dir", str(state_dir), "--scenario", "empty")
    assert up.returncode == 0, up.stderr
    try:
        status = sandbox_cli("status", "--state-dir", str(state_dir))
        assert status.returncode == 0
        assert json.loads(status.stdout)["kube-apiserver"] == "running"
        exports = sandbox_cli("env", "--state-dir", str(state_dir), "--user", "reader")
        lines = exports.stdout.splitlines()
        assert f"export KUBECONFIG={state_dir.resolve()}/kubeconfig-reader" in lines
        assert "export BASE_DOMAIN=apps.prod.example" in lines
        assert any(line.startswith("export BITIQ_NAMESERVER=127.0.0.1:") for line in lines)
        with KubeTransport(Target(kubeconfig=str(state_dir / "kubeconfig-admin"))) as transport:
            assert transport.get("/version")["gitVersion"] == "v1.32.13"
        assert processes_mentioning(str(state_dir.resolve()))
    finally:
        first = sandbox_cli("down", "--state-dir", str(state_dir))
        second = sandbox_cli("down", "--state-dir", str(state_dir))
    assert (first.returncode, second.returncode) == (0, 0)
    assert processes_mentioning(str(state_dir.resolve())) == []
    assert sandbox_cli("status", "--state-dir", str(state_dir)).returncode == 3


def test_up_on_a_dirty_directory_recovers(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    assert sandbox_cli("up", "--state-dir", str(state_dir)).returncode == 0
    try:
        # A crashed session leaves its processes and state behind; `up` must start cleanly anyway.
        (state_dir / "sandbox.json").write_text("{not json")
        again = sandbox_cli("up", "--state-dir", str(state_dir), "--scenario", "healthy-prod")
        assert again.returncode == 0, again.stderr
    finally:
        sandbox_cli("down", "--state-dir", str(state_dir))
    leftovers = processes_mentioning(str(state_dir.resolve()))
    # The damaged state file lost the first pair's pids: nothing must still run from this dir
    # once `up` cleaned up what it could not name (see Sandbox.up).
    assert leftovers == []


def test_unknown_scenario_is_refused_before_starting(tmp_path: Path) -> None:
    result = sandbox_cli("up", "--state-dir", str(tmp_path), "--scenario", "nope")
    assert result.returncode == 1
    assert "unknown scenario 'nope'" in result.stderr
    assert processes_mentioning(str(tmp_path.resolve())) == []


def test_reader_cannot_write(sandbox: Sandbox) -> None:
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "reader-was-here"}}
    with (
        KubeTransport(Target(kubeconfig=str(sandbox.kubeconfig("reader"))), allow_writes=True) as reader,
        pytest.raises(AccessDenied, match="needs verb 'create' on namespaces cluster-wide"),
    ):
        reader.request("POST", "/api/v1/namespaces", body=namespace)
