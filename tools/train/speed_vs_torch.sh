#!/usr/bin/env bash
# Seconds per MNIST training epoch: ./train (openmp) against the same network, batch and optimizer
# in PyTorch (tools/train/torch_mnist.py), interleaved round by round on the same machine, both
# pinned to the same thread count; prints the medians and their ratio and writes a report.
# Usage: tools/train/speed_vs_torch.sh [--threads N] [--rounds R] [--limit N] [--out FILE]
#   (defaults: 2 threads, 3 rounds, all 60,000 images, reports/train-speed-<UTC time>.md)
# Needs data/fetch.sh mnist and Debian's python3-torch. A busy machine slows both: run it quiet.
set -euo pipefail
cd "$(dirname "$0")/../.."
threads=2 rounds=3 limit=0 out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --limit) limit=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "speed_vs_torch: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
data=data/cache/mnist
[ -f "$data/train-images-idx3-ubyte" ] || { echo "speed_vs_torch: no MNIST in $data: run data/fetch.sh mnist" >&2; exit 1; }
/usr/bin/python3 -c "import torch" 2>/dev/null || { echo "speed_vs_torch: PyTorch missing: apt-get install python3-torch" >&2; exit 1; }
[ -x build/train/train ] || { echo "speed_vs_torch: build first: bash scripts/build.sh" >&2; exit 1; }
stamp=$(date -u +%Y%m%d-%H%M%S)
out=${out:-reports/train-speed-$stamp.md}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
limit_flag=()
[ "$limit" -gt 0 ] && limit_flag=(--limit "$limit")
ours=() theirs=()
for r in $(seq 1 "$rounds"); do
  OMP_NUM_THREADS=$threads ./train mnist --epochs 1 --threads "$threads" "${limit_flag[@]}" --out "$tmp/ours$r" > "$tmp/ours$r.log" 2>&1
  s=$(awk -F, 'NR == 2 {print $8}' "$tmp/ours$r/curves.csv")
  ours+=("$s")
  # glibc's default returns PyTorch's freed blocks to the OS after every op; the bench's PyTorch
  # column uses the same tuning, PyTorch's faster setting on this machine
  MALLOC_MMAP_THRESHOLD_=1073741824 MALLOC_TRIM_THRESHOLD_=4294967296 \
    /usr/bin/python3 tools/train/torch_mnist.py --data "$data" --threads "$threads" --limit "$limit" > "$tmp/torch$r.json"
  t=$(/usr/bin/python3 -c "import json,sys; print('%.3f' % json.load(open(sys.argv[1]))['seconds'][0])" "$tmp/torch$r.json")
  theirs+=("$t")
  echo "round $r: ./train ${s} s/epoch, PyTorch ${t} s/epoch"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
mo=$(median "${ours[@]}") mt=$(median "${theirs[@]}")
ratio=$(awk -v a="$mo" -v b="$mt" 'BEGIN {printf "%.2f", b / a}')
torch_version=$(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['torch'])" "$tmp/torch1.json")
cpu=$(grep -m1 "model name" /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
{
  echo "# MNIST training speed: ./train against PyTorch, $(date -u '+%Y-%m-%d %H:%M') UTC"
  echo
  echo "Command: \`tools/train/speed_vs_torch.sh --threads $threads --rounds $rounds${limit:+ --limit $limit}\`"
  echo
  echo "MiniTorch's MNIST network (conv 1->4 3x3, conv 4->8 3x3, avgpool 4x4, linear 392->64, dropout 0.25, linear 64->10), batch 16, SGD lr 0.01, $([ "$limit" -gt 0 ] && echo "the first $limit" || echo "all 60,000") training images, one epoch per round, training steps only (no evaluation). Both pinned to $threads thread(s) (PyTorch: OMP/OPENBLAS/MKL_NUM_THREADS before import, set_num_threads), PyTorch with glibc malloc tuned (MALLOC_MMAP_THRESHOLD_=1 GiB, MALLOC_TRIM_THRESHOLD_=4 GiB: its faster setting here). CPU: $cpu, $(nproc) online CPUs. PyTorch $torch_version (Debian)."
  echo
  echo "| round | ./train (openmp) s/epoch | PyTorch s/epoch |"
  echo "|---|---|---|"
  for i in "${!ours[@]}"; do echo "| $((i + 1)) | ${ours[$i]} | ${theirs[$i]} |"; done
  echo "| **median** | **$mo** | **$mt** |"
  echo
  echo "PyTorch / ./train: **${ratio}x** (median seconds per epoch)."
} > "$out"
echo "median: ./train $mo s/epoch, PyTorch $mt s/epoch: PyTorch / ./train = ${ratio}x; wrote $out"
