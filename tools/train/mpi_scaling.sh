#!/usr/bin/env bash
# The figures of reports/mpi-scaling.md. Run it on a quiet machine:
#   flock -x /work/cpu.lock tools/train/mpi_scaling.sh [R]      (R rounds, default 3)
# 1. One MNIST epoch (full 60,000 images, openmp backend) three ways, round by round interleaved:
#    -np 1 with 1 thread, mpirun -np 2 with 1 thread per rank, -np 1 with 2 threads; each run's
#    training seconds (evaluation excluded), rank 0's gradient-sum seconds, and the medians.
# 2. One process's seconds per training step at the batch sizes a rank sees when a global batch
#    is split N ways (MNIST batch 16 -> 16, 8, 4, 2, 1; SST-2 batch 10 -> 10, 5, 3, 2, 1), on
#    --limit'ed epochs (MNIST 8,000 images, SST-2 3,000 sentences), 1 thread.
# 3. The machine's room for two computing processes: one process at batch 8 (a -np 2 rank's
#    shard) for 30,000 images, alone and then two such processes side by side (no MPI): how much
#    two concurrent streams slow each other down before any communication.
# MPI_SCALING_PARTS="1 2 3" (the default) picks the parts.
# Reads data/cache/mnist, data/cache/glove100.bin and SST-2 (data/fetch.sh mnist glove sst2);
# set MPI_SCALING_SKIP_SST2=1 without SST-2. tools/train/mpi_model.py turns the numbers into the
# predictions of the report.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
rounds="${1:-3}" task=mnist extra=""
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
export OMP_NUM_THREADS=1
secs() { grep -oE '(time )?[0-9.]+ s/epoch' "$1" | grep -oE '[0-9.]+' | head -1; }
sums() { grep -oE 'gradient sums [0-9.]+ s' "$1" | grep -oE '[0-9.]+' | head -1; }
parts="${MPI_SCALING_PARTS:-1 2 3}"
declare -A all
[[ " $parts " == *" 1 "* ]] || rounds=0
for r in $(seq "$rounds"); do
  "$root/train" "$task" --epochs 1 --threads 1 $extra --out "$tmp/a$r" >"$tmp/a$r.log"
  mpirun --allow-run-as-root -np 2 -x OMP_NUM_THREADS "$root/train" "$task" --epochs 1 \
    --threads 1 $extra --out "$tmp/b$r" >"$tmp/b$r.log" 2>&1
  OMP_NUM_THREADS=2 "$root/train" "$task" --epochs 1 --threads 2 $extra --out "$tmp/c$r" \
    >"$tmp/c$r.log"
  a="$(secs "$tmp/a$r.log")" b="$(secs "$tmp/b$r.log")" c="$(secs "$tmp/c$r.log")"
  s="$(sums "$tmp/b$r.log")"
  echo "round $r: -np 1 x 1 thread $a s; -np 2 x 1 thread $b s (gradient sums $s s); -np 1 x 2 threads $c s"
  all[a]+="$a " all[b]+="$b " all[c]+="$c " all[s]+="$s "
done
[ "$rounds" = 0 ] || {
med() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
a="$(med "${all[a]}")" b="$(med "${all[b]}")" c="$(med "${all[c]}")" s="$(med "${all[s]}")"
grep -h "bytes summed" "$tmp/b1.log" | head -1
echo "median: -np 1 x 1 thread $a s; -np 2 x 1 thread $b s (sums $s s); -np 1 x 2 threads $c s"
awk -v a="$a" -v b="$b" -v c="$c" 'BEGIN {
  printf "speedup -np 2: %.2fx (parallel efficiency %.0f%%); 2 threads: %.2fx (%.0f%%)\n",
         a / b, 50 * a / b, a / c, 50 * a / c }'
}

# per-step times at each shard size
steptime() { # steptime TASK BATCH LIMIT -> seconds per step (training seconds / steps)
  "$root/train" "$1" --epochs 1 --threads 1 --batch "$2" --limit "$3" --out "$tmp/st" >"$tmp/st.log"
  local secs
  secs="$(grep -oE '[0-9.]+ s/epoch' "$tmp/st.log" | grep -oE '^[0-9.]+' | head -1)"
  awk -v s="$secs" -v n="$3" -v b="$2" 'BEGIN { printf "%.6f", s / int((n + b - 1) / b) }'
}
[[ " $parts " == *" 2 "* ]] && {
line="mnist per-step seconds:"
for b in 16 8 4 2 1; do line+=" b$b=$(steptime mnist $b 8000)"; done
echo "$line"
if [ -z "${MPI_SCALING_SKIP_SST2:-}" ]; then
  line="sst2 per-step seconds:"
  for b in 10 5 3 2 1; do line+=" b$b=$(steptime sst2 $b 3000)"; done
  echo "$line"
fi
}
[[ " $parts " == *" 3 "* ]] && {
  one() { "$root/train" mnist --epochs 1 --threads 1 --batch 8 --limit 30000 --out "$tmp/$1" >"$tmp/$1.log"; }
  one alone
  one side1 & one side2 & wait
  for n in alone side1 side2; do
    echo "batch 8, 30000 images, $n: $(grep -oE '[0-9.]+ s/epoch' "$tmp/$n.log" | head -1)"
  done
}
