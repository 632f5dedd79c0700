#!/usr/bin/env bash
# ./train's command line, through the built binary ($1): bad flags exit 2 with a message naming
# the flag, missing data exits 1 naming the data/fetch.sh command, and a short toy run writes its
# log and CSV and learns.
set -u
exe="$1"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fails=0
expect() { # expect CODE NEEDLE -- ARGS...
  local code="$1" needle="$2"
  shift 3
  local out rc
  out="$(MT_ROOT="$tmp/root" "$exe" "$@" 2>&1)"
  rc=$?
  if [ "$rc" != "$code" ] || ! grep -qF -- "$needle" <<<"$out"; then
    echo "FAIL: train $* -> exit $rc (want $code), output:"
    echo "$out" | head -5
    echo "  (wanted it to mention: $needle)"
    fails=$((fails + 1))
  else
    echo "ok: train $* -> exit $rc, mentions '$needle'"
  fi
}
mkdir -p "$tmp/root"
expect 2 "--epochs" -- mnist --epochs zero
expect 2 "--epochs" -- mnist --epochs 0
expect 2 "--lr" -- mnist --lr -1
# found by tests/fuzz/fuzz_train_cli: positive doubles that become 0 or inf as a float
expect 2 "expected a positive number a float can hold" -- mnist --lr 1e-300
expect 2 "expected a positive number a float can hold" -- mnist --lr 1e39
expect 2 "--batch" -- sst2 --batch=
expect 2 "unknown flag \"--bogus\"" -- mnist --bogus 3
expect 2 "unknown task" -- cifar
expect 2 "--preset" -- mnist --preset pytorch
expect 2 "needs a value" -- mnist --seed
expect 2 "--model \"resnet\": expected minitorch or lenet" -- mnist --model resnet
expect 2 "--model is for mnist and fashion-mnist" -- sst2 --model lenet
expect 2 "no backend named 'gpu9'" -- mnist --backend gpu9
expect 0 "usage: ./train" -- --help
# the data-parallel flags need mpirun (and say so without it)
expect 2 "--mpi-timeout is for runs under mpirun" -- toy --mpi-timeout 5
expect 2 "--mpi-check is for runs under mpirun" -- toy --mpi-check 10
expect 2 "--resume needs --checkpoint" -- toy --resume
expect 2 "--eval needs --checkpoint" -- mnist --eval x-images-idx3-ubyte
expect 2 "--eval is for mnist" -- toy --eval f --checkpoint d
expect 2 "pick one" -- mnist --eval f --checkpoint d --resume
expect 1 "checkpoint.mtckpt: cannot open" -- toy --epochs 2 --checkpoint "$tmp/none" --resume --out "$tmp/r"
expect 1 "data/fetch.sh mnist" -- mnist --epochs 1
expect 1 "data/fetch.sh fashion-mnist" -- fashion-mnist
expect 1 "data/fetch.sh sst2" -- sst2 --data "$tmp/root"
mkdir -p "$tmp/sst2"
printf 'label\tsentence\n1\tgood\n' >"$tmp/sst2/train.tsv"
cp "$tmp/sst2/train.tsv" "$tmp/sst2/dev.tsv"
expect 1 "data/fetch.sh glove" -- sst2 --data "$tmp/sst2"
expect 1 "unknown toy dataset" -- toy --dataset moons
# a truncated IDX file is named in the error
mkdir -p "$tmp/idx"
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  printf '\x00\x00\x08\x03\x00\x00\x00\x02' >"$tmp/idx/$f"
done
expect 1 "train-images-idx3-ubyte: truncated" -- mnist --data "$tmp/idx"
# a 2-epoch mnist run on 64 blank 28x28 images (all label 0: files, not learning, are checked
# here) writes its log, 2 CSV rows and a chart
mkdir -p "$tmp/blank"
for set in train t10k; do
  { printf '\x00\x00\x08\x03\x00\x00\x00\x40\x00\x00\x00\x1c\x00\x00\x00\x1c'
    head -c $((64 * 28 * 28)) /dev/zero; } >"$tmp/blank/$set-images-idx3-ubyte"
  { printf '\x00\x00\x08\x01\x00\x00\x00\x40'; head -c 64 /dev/zero; } \
    >"$tmp/blank/$set-labels-idx1-ubyte"
done
expect 0 "/64 (" -- mnist --epochs 2 --data "$tmp/blank" --out "$tmp/mn" --backend naive
if [ "$(wc -l <"$tmp/mn/curves.csv")" -ne 3 ] || ! grep -q "<polyline" "$tmp/mn/chart.svg" ||
  [ "$(grep -c '^Epoch' "$tmp/mn/log.txt")" -ne 2 ]; then
  echo "FAIL: mnist run: want 2 log lines, 2 CSV rows and a chart in $tmp/mn"
  fails=$((fails + 1))
fi
# --model lenet through the command line: the log names the network
expect 0 "lenet network" -- mnist --model lenet --epochs 1 --data "$tmp/blank" --out "$tmp/le" \
  --backend naive
# a short toy run: learns the simple set and writes its files
expect 0 "Epoch 200 loss" -- toy --dataset simple --epochs 200 --backend naive --out "$tmp/out"
if [ ! -s "$tmp/out/log.txt" ] || [ "$(wc -l <"$tmp/out/curves.csv")" -ne 21 ]; then
  echo "FAIL: toy run did not write log.txt and a curves.csv of 20 rows + header"
  fails=$((fails + 1))
fi
last="$(tail -1 "$tmp/out/curves.csv" | cut -d, -f3)"
if [ "${last:-0}" -lt 45 ]; then
  echo "FAIL: toy simple after 200 epochs: $last/50 correct, expected >= 45"
  fails=$((fails + 1))
else
  echo "ok: toy simple after 200 epochs: $last/50 correct"
fi
echo "test_train_cli: $fails failed"
[ "$fails" = 0 ]
