#!/usr/bin/env python3
"""Measures one full preflight against the sandbox: wall time and API requests (from the audit log).

    .venv/bin/python scripts/benchmark-preflight.py [--runs 5] [--scenario healthy-prod] [--workers 2]

Starts its own sandbox in a temporary directory and stops it at the end. Requests are counted
per user from the API server's audit log, so they include everything the suite sent.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from fixtures.sandbox import Sandbox  # noqa: E402 - after the path set-up above


def audit_events(log: Path, start: int, user: str) -> list[dict[str, object]]:
    with log.open("rb") as handle:
        handle.seek(start)
        events = [json.loads(line) for line in handle.read().splitlines() if line.strip()]
    return [event for event in events if event["user"]["username"] == user]  # type: ignore[index]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--scenario", default="healthy-prod")
    parser.add_argument("--user", default="reader")
    parser.add_argument("--workers", type=int, default=0, help="pytest-xdist workers (0: serial)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as state:
        sandbox = Sandbox(Path(state))
        sandbox.up(args.scenario)
        try:
            environment = {**os.environ, **sandbox.exports(args.user)}
            command = [
                sys.executable,
                "-m",
                "pytest",
                "-m",
                "preflight",
                "--env",
                "prod",
                "-q",
                "-p",
                "no:cacheprovider",
                "-c",
                str(REPO / "pyproject.toml"),
                str(REPO / "suites"),
            ]
            if args.workers:
                command += ["-n", str(args.workers)]
            durations, requests = [], []
            for _ in range(args.runs):
                start = sandbox.audit_log.stat().st_size
                began = time.perf_counter()
                subprocess.run(command, env=environment, cwd=REPO, capture_output=True, check=False, timeout=300)
                durations.append(time.perf_counter() - began)
                time.sleep(0.2)  # the audit log is written asynchronously
                requests.append(len(audit_events(sandbox.audit_log, start, args.user)))
        finally:
            sandbox.down()
    print(f"scenario {args.scenario}, user {args.user}, workers {args.workers or 'serial'}, {args.runs} runs")
    print(
        f"  wall time per run: median {statistics.median(durations):.2f} s"
        f" (min {min(durations):.2f}, max {max(durations):.2f}), including interpreter start-up"
    )
    print(f"  API requests per run: {sorted(set(requests))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
