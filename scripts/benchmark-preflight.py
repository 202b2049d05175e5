#!/usr/bin/env python3
"""Measures the preflight against a scaled sandbox behind a slow link, side by side with a kubectl peer.

    .venv/bin/python scripts/benchmark-preflight.py [--runs 3] [--scenario healthy-prod]
        [--nodes 1000 --applications 500 --routes 200] [--rtt-ms 50] [--no-peer] [--workers 2]

Starts its own sandbox in a temporary directory and stops it at the end. With --nodes,
--applications and --routes it copies the scenario's own objects until the cluster holds that many
(fixtures/sandbox/scale.py). With --rtt-ms the suite and the peer reach the API server through a TCP
proxy on loopback that delays every chunk by half that in each direction
(fixtures/sandbox/latency_proxy.py): TCP and TLS handshakes pay it too, as across a VPN.

Measured, each the median of --runs runs, wall time including interpreter start-up:
  * preflight: `pytest -m preflight --env prod`;
  * peer: scripts/peer-preflight.sh, one kubectl process per check doing the same reads, taken
    from what one traced preflight run read ($BITIQ_TRACE_READS);
  * all: `pytest -m "preflight or parity or smoke" --env prod`;
  * with --lazy, preflight and all again with $BITIQ_NO_PREFETCH=1 (each read sent when its check
    asks): the effect of the prefetch alone, on the same sandbox.
Commands are interleaved, one of each per round, so a busy machine slows all of them alike; CPU
seconds (user + system of the child processes) are printed beside the wall time.
API requests are counted per user from the API server's audit log, so they include everything sent.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from fixtures.cluster import TRACE_READS_ENV  # noqa: E402 - after the path set-up above
from fixtures.reads import NO_PREFETCH_ENV  # noqa: E402
from fixtures.sandbox import Sandbox  # noqa: E402
from fixtures.sandbox.latency_proxy import LatencyProxy  # noqa: E402
from fixtures.sandbox.scale import Scale  # noqa: E402

ALL = "preflight or parity or smoke"


def audit_events(log: Path, start: int, user: str) -> list[dict[str, Any]]:
    with log.open("rb") as handle:
        handle.seek(start)
        events = [json.loads(line) for line in handle.read().splitlines() if line.strip()]
    return [event for event in events if event["user"]["username"] == user]


def request_mix(events: list[dict[str, Any]]) -> str:
    """What a run's requests were: LISTs and the kinds they cover, GETs of named objects, reviews, the rest."""
    lists = [event for event in events if event["verb"] == "list"]
    kinds = {(event["objectRef"].get("apiGroup", ""), event["objectRef"].get("resource")) for event in lists}
    named = [event for event in events if event["verb"] == "get" and (event.get("objectRef") or {}).get("name")]
    reviews = [event for event in events if event["verb"] == "create"]
    other = len(events) - len(lists) - len(named) - len(reviews)
    return (
        f"{len(lists)} LIST over {len(kinds)} kinds, {len(named)} GET by name, {len(reviews)} reviews,"
        f" {other} discovery and /version"
    )


def pytest_command(marker: str, workers: int) -> list[str]:
    command = [sys.executable, "-m", "pytest", "-m", marker, "--env", "prod", "-q", "-p", "no:cacheprovider"]
    command += ["-c", str(REPO / "pyproject.toml"), str(REPO / "suites")]
    return command + (["-n", str(workers)] if workers else [])


@dataclass
class Measurement:
    """Runs of one command: wall and CPU seconds (the child's user + system), API requests, last output."""

    durations: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    requests: list[int] = field(default_factory=list)
    mix: str = ""  # the last run's requests by sort (request_mix)
    last: str = ""

    def line(self, name: str) -> str:
        return (
            f"  {name:<14} median {statistics.median(self.durations):5.2f} s"
            f" (min {min(self.durations):.2f}, max {max(self.durations):.2f}),"
            f" CPU {statistics.median(self.cpu):.2f} s; API requests per run: {sorted(set(self.requests))}"
            + (f"\n                 requests of the last run: {self.mix}" if self.mix else "")
        )


def measure(
    sandbox: Sandbox, user: str, runs: int, commands: dict[str, Callable[[], subprocess.CompletedProcess[str]]]
) -> dict[str, Measurement]:
    """Runs every command ``runs`` times, interleaved (one of each per round), so that the load of a
    shared machine weighs on all of them alike."""
    results = {name: Measurement() for name in commands}
    for _ in range(runs):
        for name, run in commands.items():
            start = sandbox.audit_log.stat().st_size
            cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
            began = time.perf_counter()
            completed = run()
            results[name].durations.append(time.perf_counter() - began)
            cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
            results[name].cpu.append(
                cpu_after.ru_utime - cpu_before.ru_utime + cpu_after.ru_stime - cpu_before.ru_stime
            )
            time.sleep(0.3)  # the audit log is written asynchronously
            events = audit_events(sandbox.audit_log, start, user)
            results[name].requests.append(len(events))
            results[name].mix = request_mix(events)
            lines = (completed.stdout or completed.stderr).strip().splitlines()
            results[name].last = lines[-1] if lines else f"exit {completed.returncode}"
    return results


def _kind(group: str, resource: str) -> str:
    return f"{resource}.{group}" if group else resource


def peer_plan(trace: Path, state: Path) -> list[str]:
    """The peer's lines, one kubectl process per check (and per review it asks), from a read trace."""
    reads: dict[str, list[list[Any]]] = defaultdict(list)
    for line in trace.read_text().splitlines():
        entry = json.loads(line)
        # One check: the test function, whatever its targets (a script loops over them itself).
        check = entry["test"].split("::")[-1].split("[")[0]
        if check and entry["read"] not in reads[check]:
            reads[check].append(entry["read"])
    lines: list[str] = []
    for number, (check, keys) in enumerate(reads.items()):
        cluster_wide = [_kind(k[1], k[2]) for k in keys if k[0] == "list" and len(k) == 3]
        if cluster_wide:
            lines.append(f"{check}\tget {','.join(cluster_wide)} -A -o json")
        for key in keys:
            if key[0] == "list" and len(key) == 4:
                lines.append(f"{check}\tget {_kind(key[1], key[2])} -n {shlex.quote(key[3])} -o json")
            elif key[0] == "read":
                namespace = f" -n {shlex.quote(key[4])}" if key[4] else ""
                lines.append(f"{check}\tget {_kind(key[1], key[2])} {shlex.quote(key[3])}{namespace} -o json")
            elif key[0] in ("can", "subject_can"):
                if key[0] == "can":
                    verb, group, resource, namespace, name = *key[1:5], ""
                    kind, spec = "SelfSubjectAccessReview", {}
                else:
                    verb, group, resource, namespace, name = key[3:8]
                    kind, spec = "SubjectAccessReview", {"user": key[1], "groups": key[2]}
                attributes = {"verb": verb, "group": group, "resource": resource}
                attributes |= {"namespace": namespace} if namespace else {}
                attributes |= {"name": name} if name else {}
                body = state / f"review-{number}-{len(lines)}.json"
                review = {"apiVersion": "authorization.k8s.io/v1", "kind": kind, "spec": spec}
                review["spec"] = {**spec, "resourceAttributes": attributes}
                body.write_text(json.dumps(review))
                lines.append(f"{check}\tcreate -f {shlex.quote(str(body))} -o json")
            elif key[0] == "whoami":
                lines.append(f"{check}\tauth whoami -o json")
            elif key[0] == "version":
                lines.append(f"{check}\tget --raw /version")
    return lines


def proxied_kubeconfig(sandbox: Sandbox, user: str, port: int, path: Path) -> Path:
    config = yaml.safe_load(sandbox.kubeconfig(user).read_text())
    config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{port}"
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path


def main() -> int:  # noqa: PLR0915 - one linear measurement
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scenario", default="healthy-prod")
    parser.add_argument("--user", default="reader")
    parser.add_argument("--workers", type=int, default=0, help="pytest-xdist workers (0: serial)")
    parser.add_argument("--nodes", type=int, default=0, help="Nodes in all (copies of the scenario's worker)")
    parser.add_argument("--applications", type=int, default=0, help="extra Applications (another tenant's)")
    parser.add_argument("--routes", type=int, default=0, help="extra Routes (another tenant's)")
    parser.add_argument("--rtt-ms", type=float, default=0.0, help="round trip added to every API server packet")
    parser.add_argument("--no-peer", action="store_true", help="skip the kubectl peer")
    parser.add_argument("--no-all", action="store_true", help="skip the preflight + parity + smoke run")
    parser.add_argument("--keep-plan", type=Path, help="also write the peer's plan here")
    parser.add_argument(
        "--lazy", action="store_true", help="also time the suite with $BITIQ_NO_PREFETCH=1 (reads sent as checks ask)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as state_name:
        state = Path(state_name)
        sandbox = Sandbox(state / "sandbox")
        sandbox.up(args.scenario)
        proxy = None
        try:
            scale = Scale(nodes=args.nodes, applications=args.applications, routes=args.routes)
            added = sandbox.scale(scale) if (args.nodes or args.applications or args.routes) else 0
            environment = {**os.environ, **sandbox.exports(args.user)}
            if args.rtt_ms:
                proxy = LatencyProxy(("127.0.0.1", sandbox.state.apiserver.port), one_way=args.rtt_ms / 2000)
                proxy.start()
                kubeconfig = proxied_kubeconfig(sandbox, args.user, proxy.port, state / "kubeconfig")
                environment["KUBECONFIG"] = str(kubeconfig)
            print(
                f"scenario {args.scenario} (+{added} objects: {scale}), user {args.user},"
                f" round trip +{args.rtt_ms:g} ms, workers {args.workers or 'serial'}, {args.runs} runs"
            )

            def suite(marker: str, extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
                return subprocess.run(
                    pytest_command(marker, args.workers),
                    env={**environment, **(extra or {})},
                    cwd=REPO,
                    capture_output=True,
                    text=True,
                    check=False,
                    timeout=600,
                )

            lazy = {NO_PREFETCH_ENV: "1"}
            commands: dict[str, Callable[[], subprocess.CompletedProcess[str]]] = {
                "preflight": lambda: suite("preflight")
            }
            if args.lazy:
                commands["preflight-lazy"] = lambda: suite("preflight", lazy)
            if not args.no_peer:
                trace = state / "reads.jsonl"
                suite("preflight", {TRACE_READS_ENV: str(trace)})
                plan = state / "peer-plan.tsv"
                lines = peer_plan(trace, state)
                plan.write_text("\n".join(lines) + "\n")
                if args.keep_plan:
                    args.keep_plan.write_text(plan.read_text())
                peer_command = ["bash", str(REPO / "scripts" / "peer-preflight.sh"), str(plan)]
                commands["peer"] = lambda: subprocess.run(
                    peer_command, env=environment, capture_output=True, text=True, check=False, timeout=600
                )
            if not args.no_all:
                commands["all"] = lambda: suite(ALL)
                if args.lazy:
                    commands["all-lazy"] = lambda: suite(ALL, lazy)
            results = measure(sandbox, args.user, args.runs, commands)
            for name, measured in results.items():
                print(measured.line(name))
                print(f"  {'':<14} last run: {measured.last}")
            if "peer" in results:
                ratio = statistics.median(results["peer"].durations) / statistics.median(results["preflight"].durations)
                print(f"  ratio          peer / preflight = {ratio:.2f}x (wall, medians)")
            if "preflight-lazy" in results:
                gain = statistics.median(results["preflight-lazy"].durations) / statistics.median(
                    results["preflight"].durations
                )
                print(f"  prefetch       preflight-lazy / preflight = {gain:.2f}x (wall, medians)")
        finally:
            if proxy is not None:
                proxy.stop()
            sandbox.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
