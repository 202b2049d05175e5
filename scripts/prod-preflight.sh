#!/usr/bin/env bash
# Thin wrapper kept for the runbook's muscle memory: the preflight is the pytest suite.
#   BASE_DOMAIN=apps.prod.example.com scripts/prod-preflight.sh [extra pytest options]
# Exit code: 0 when no blocking check fails, 1 otherwise, 4 on a usage error.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
pytest_bin=".venv/bin/pytest"
[ -x "$pytest_bin" ] || pytest_bin="pytest"
exec "$pytest_bin" -m preflight --env "${ENV:-prod}" "$@"
