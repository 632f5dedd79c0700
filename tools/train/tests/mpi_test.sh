#!/usr/bin/env bash
# Data-parallel ./train under mpirun (-np 2 and -np 3, --oversubscribe: CI has 2 cores) on small
# fixture data (mpi_fixture.py), for toy, mnist (dropout) and sst2 (dropout, per-batch padding):
#  (a) the same N and seed give the same bits: two runs' checkpoints are byte-identical;
#  (b) N ranks give one process's losses (the plain binary, same global batch) within a relative
#      1e-5. Why that tolerance: the ranks add the same per-example gradient terms in another
#      association (per-shard sums, then a rank-order sum), which moves each gradient element by a
#      few float32 ulps (2^-24 relative each) per step; over these runs' 14-21 SGD steps the
#      epoch-mean losses move by about 1e-7 relative (measured). A wrong shard scale (each rank's
#      mean instead of its share), a shard drawing the wrong dropout mask or padding a sentence
#      batch to its own longest changes them by 1e-4 or more;
#  (c) -np 1 under mpirun is the plain binary, bit for bit;
#  (d) --resume with the same N gives the uninterrupted run's checkpoint bytes, and with another
#      N continues within the tolerance of (b);
#  (e) faults end every rank with a non-zero mpirun status within seconds, never a hang: a rank
#      that stalls (named by the ranks that time out), a rank that exits, a rank whose parameters
#      drift (named by the hash check).
# Usage: mpi_test.sh TRAIN_EXE MPIRUN FIXTURE_PY
set -u
exe="$1" mpirun="$2" fixture="$3"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 "$fixture" "$tmp" || { echo "FAIL: cannot write the fixtures"; exit 1; }
export MT_ROOT="$tmp" OMP_NUM_THREADS=1
# shared memory between the ranks; no single-copy (CMA) mechanism, which containers often forbid
export OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none
# Sanitizer builds: LeakSanitizer would report what OpenMPI itself leaves allocated at
# MPI_Finalize. lsan-openmpi.supp suppresses leaks with an OpenMPI library or plugin on their
# stack, and only those (a leak planted in dist_mpi.c is still reported); full unwinding and
# plugins kept loaded give those stacks their names. No effect in builds without ASan.
export OMPI_MCA_mca_base_component_disable_dlclose=1
export LSAN_OPTIONS="suppressions=$(cd "$(dirname "$0")" && pwd)/lsan-openmpi.supp:print_suppressions=0:fast_unwind_on_malloc=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
mpi=("$mpirun" --allow-run-as-root --oversubscribe -x MT_ROOT -x OMP_NUM_THREADS -x LSAN_OPTIONS
  -x ASAN_OPTIONS)
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ok() { echo "ok: $*"; }

# task flags: short runs, SGD lr 0.05 so the parameters move and differences would grow
declare -A flags=(
  [toy]="toy --dataset xor --epochs 40"
  [mnist]="mnist --data $tmp/mnist --epochs 3 --batch 16 --lr 0.05"
  [sst2]="sst2 --data $tmp/sst2 --epochs 3 --batch 10 --lr 0.05"
)
# the loss columns of each task's curves.csv
declare -A cols=([toy]=2 [mnist]=3 [sst2]=3,4)

run() { # run NP NAME TASK [extra flags]: NP 0 is the plain binary
  local np="$1" name="$2" task="$3"
  shift 3
  local cmd=("$exe" ${flags[$task]} --out "$tmp/$name" --checkpoint "$tmp/$name/ck" "$@")
  [ "$np" = 0 ] || cmd=("${mpi[@]}" -np "$np" "${cmd[@]}")
  if ! "${cmd[@]}" >"$tmp/$name.out" 2>&1; then
    fail "$name: ${cmd[*]} exited non-zero:"
    tail -5 "$tmp/$name.out"
    return 1
  fi
}
losses() { tail -n +2 "$tmp/$1/curves.csv" | cut -d, -f"$2"; }
# close A B COLS: every loss of run B within relative 1e-5 of run A's
close() {
  paste -d' ' <(losses "$1" "$3" | tr ',' '\n') <(losses "$2" "$3" | tr ',' '\n') |
    awk -v a="$1" -v b="$2" '
      { d = $1 - $2; if (d < 0) d = -d; m = $1 < 0 ? -$1 : $1; r = m > 0 ? d / m : d
        if (r > worst) worst = r; if (r > 1e-5) bad++; n++ }
      END { printf "%s vs %s: %d losses, worst relative difference %.2g\n", a, b, n, worst
            exit (n == 0 || bad > 0) }'
}
same_bits() { cmp -s "$tmp/$1/ck/checkpoint.mtckpt" "$tmp/$2/ck/checkpoint.mtckpt"; }

for task in toy mnist sst2; do
  run 0 "$task-1" "$task" || continue
  for np in 2 3; do
    run "$np" "$task-np$np-a" "$task" && run "$np" "$task-np$np-b" "$task" || continue
    if same_bits "$task-np$np-a" "$task-np$np-b"; then
      ok "$task -np $np twice: byte-identical checkpoints"
    else
      fail "$task -np $np twice: the checkpoints differ"
    fi
    if out="$(close "$task-1" "$task-np$np-a" "${cols[$task]}")"; then ok "$out"
    else fail "$out (tolerance 1e-5)"; fi
  done
  # only rank 0 writes: one log header line, whatever N
  n="$(grep -c "^# data-parallel: 3 ranks, .* split into 3 shards" "$tmp/$task-np3-a.out")"
  [ "$n" = 1 ] && ok "$task -np 3: one rank prints" || fail "$task -np 3 printed $n headers"
done

run 1 toy-np1 toy
if same_bits toy-1 toy-np1; then ok "toy -np 1 under mpirun: the plain binary's bits"
else fail "toy -np 1 under mpirun differs from the plain binary"; fi

# resume: 2 of 3 epochs with 2 ranks, then the last with 2 ranks (same N) or 3 ranks
run 2 res-a mnist --epochs 2 && cp -r "$tmp/res-a/ck" "$tmp/res-ck" &&
  run 2 res-a mnist --resume && {
  if same_bits res-a mnist-np2-a; then ok "mnist -np 2 resumed after epoch 2: identical bytes"
  else fail "mnist -np 2 resumed after epoch 2 differs from the uninterrupted run"; fi
}
mkdir -p "$tmp/res-b" && cp -r "$tmp/res-ck" "$tmp/res-b/ck" && run 3 res-b mnist --resume && {
  a="$(losses mnist-np2-a 3 | tail -1)" b="$(losses res-b 3)"
  if ! grep -q "resumed from .* after epoch 2" "$tmp/res-b.out" || [ "$(losses res-b 1)" != 3 ]
  then fail "the -np 3 resume did not continue at epoch 3"
  elif awk -v a="$a" -v b="$b" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 1e-5 * a) }'
  then ok "mnist resumed with 3 ranks from a 2-rank checkpoint: epoch 3 loss $b vs $a"
  else fail "mnist resumed with 3 ranks: epoch 3 loss $b vs the 2-rank run's $a"; fi
}

# a bad command line: every rank refuses it, rank 0 alone says why
out="$("${mpi[@]}" -np 2 "$exe" toy --mpi-timeout 0 2>&1)"
rc=$?
n="$(grep -c -- '--mpi-timeout "0": expected a positive number' <<<"$out")"
if [ "$rc" != 0 ] && [ "$n" = 1 ]; then ok "-np 2 with --mpi-timeout 0: exit $rc, one message"
else fail "-np 2 with --mpi-timeout 0: exit $rc, $n messages"; fi

# faults: each must end the job quickly with a message naming the rank
fault() { # fault NAME NEEDLE MT_TRAIN_FAULT [flags...]
  local name="$1" needle="$2" spec="$3"
  shift 3
  local t0=$SECONDS rc
  MT_TRAIN_FAULT="$spec" timeout 60 "${mpi[@]}" -x MT_TRAIN_FAULT -np 3 "$exe" \
    toy --epochs 200 --out "$tmp/$name" "$@" >"$tmp/$name.out" 2>&1
  rc=$?
  local secs=$((SECONDS - t0))
  if [ "$rc" = 0 ] || [ "$rc" = 124 ]; then
    fail "$name: mpirun exit $rc after $secs s (want non-zero, no hang)"
  elif ! grep -qF -- "$needle" "$tmp/$name.out"; then
    fail "$name: exit $rc but the output does not say '$needle':"
    tail -8 "$tmp/$name.out"
  elif [ "$secs" -gt 20 ]; then
    fail "$name: took $secs s to end"
  else
    ok "$name: mpirun exit $rc after $secs s, output names it: '$needle'"
  fi
}
fault stall "rank 2 did not answer" 2:5:stall --mpi-timeout 3
fault exit "exiting after step 5" 1:5:exit --mpi-timeout 2
fault drift "rank 1's hash" 1:7:drift --mpi-check 10

echo "mpi_test: $fails failed"
[ "$fails" = 0 ]
