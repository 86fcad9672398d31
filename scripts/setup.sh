#!/usr/bin/env bash
# Everything a fresh machine needs, idempotent: npm packages, the pinned Go-built tools (`setup.sh test`: the
# tests' too).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ! -d node_modules/@temporalio/worker || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "setup: installing npm packages…"
  # npm ci refuses this lock (optional @swc/core platform packages the registry does not list); install honours it.
  npm install --no-audit --no-fund --loglevel=error
fi
bash scripts/install-tools.sh "$@"
