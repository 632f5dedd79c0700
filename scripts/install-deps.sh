#!/usr/bin/env bash
# Installs the Debian packages the build, the tests and the tools use. Safe to run twice: it asks
# apt only for what is missing.
set -euo pipefail
# clang, its runtime libraries (libFuzzer, sanitizers) and LLVM's OpenMP: the fuzz build (tests/fuzz)
packages=(build-essential cmake pkg-config libbenchmark-dev libopenblas-dev python3-numpy zlib1g-dev
          libopenmpi-dev openmpi-bin clang libclang-rt-14-dev libomp-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
