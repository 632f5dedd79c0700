#!/usr/bin/env bash
# Configures and builds into build/ (Release, warnings as errors). Extra arguments go to cmake.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DMT_WERROR=ON "$@"
cmake --build build -j"$(nproc)"
