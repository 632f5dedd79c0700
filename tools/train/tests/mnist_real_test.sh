#!/usr/bin/env bash
# A short training on the real MNIST (data/fetch.sh mnist): 2 epochs of 200 steps on the first
# 3,200 training images, scored on all 10,000 test images. The loss must fall from the first epoch
# to the second and the test accuracy end far above chance (10%): at least 60%. Exit 77 (skipped,
# and CTest says so) when the data has not been fetched.
set -u
exe="$1" root="$2"
data="$root/data/cache/mnist"
if [ ! -s "$data/train-images-idx3-ubyte" ]; then
  echo "mnist_real: no MNIST in $data (run data/fetch.sh mnist): skipped"
  exit 77
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$exe" mnist --data "$data" --limit 3200 --epochs 2 --optimizer adam --lr 0.001 --threads 1 \
    --seed 3 --out "$tmp/run" > "$tmp/log" 2>&1 || { cat "$tmp/log"; echo "0 passed, 1 failed"; exit 1; }
awk -F, 'NR == 2 {l1 = $3} NR == 3 {l2 = $3; acc = $7}
  END {
    printf "epoch 1 loss %s, epoch 2 loss %s, test accuracy %s\n", l1, l2, acc
    ok = (l2 < l1) + (acc >= 0.6)
    printf "%d passed, %d failed\n", ok, 2 - ok
    exit ok == 2 ? 0 : 1
  }' "$tmp/run/curves.csv"
