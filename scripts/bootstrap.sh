#!/usr/bin/env bash
# Bootstraps ENV=<env> on the current kube context (see fixtures/bootstrap.py for the steps):
#   ENV=prod BASE_DOMAIN=apps.prod.example.com scripts/bootstrap.sh [--dry-run] [--skip-preflight] ...
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
python_bin=".venv/bin/python"
[ -x "$python_bin" ] || python_bin="python3"
exec "$python_bin" -m fixtures.bootstrap "$@"
