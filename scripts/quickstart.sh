#!/usr/bin/env bash
# Quick start: installs packages, builds, and verifies every built backend.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
./verify --all-backends "$@"
