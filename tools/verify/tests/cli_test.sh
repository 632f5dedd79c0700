#!/usr/bin/env bash
# The CLI's contract: usage errors exit 2 with a message saying what was wrong, --help and --list
# exit 0, a passing run exits 0, a failing one 1, and the ./verify launcher forwards its arguments
# or says how to build when the binary is missing.
# usage: cli_test.sh <build/verify/verify> <repository root>
set -u
exe="$1"
root="$2"
fails=0

expect() { # expect EXIT-CODE TEXT-IN-OUTPUT ARGS...
  local code="$1" text="$2"
  shift 2
  local out rc
  out="$("$exe" "$@" 2>&1)"
  rc=$?
  if [ "$rc" != "$code" ] || ! grep -qF -- "$text" <<<"$out"; then
    echo "FAIL: verify $* exited $rc (expected $code) or did not say '$text':"
    head -5 <<<"$out"
    fails=$((fails + 1))
  else
    echo "ok: verify $* -> $rc"
  fi
}

expect 2 "unknown option '--bogus'" --bogus
expect 2 "need a count from 0 to 1000000, got '-1'" --cases -1
expect 2 "need a count from 0 to 1000000, got 'many'" --grad-cases many
expect 2 "non-negative integer, got 'x'" --seed x
expect 2 "no op named 'nope'" --op nope
expect 2 "unknown backend 'nope'" --backend nope
expect 2 "do not go together" --all-backends --backend naive
expect 2 "--op needs a value" --op
expect 2 "--list takes no value" --list=yes
expect 0 "usage: ./verify" --help
expect 0 "backends in this build" --list
expect 0 "verify: PASS" --op neg,add --cases 3 --seed 5 --backend naive
expect 0 "verify: PASS" --op=sum --cases=2 --backend=naive
expect 0 "verify: PASS" --op sum,conv2d --quick --cases 2 --backend naive
expect 2 "--quick takes no value" --quick=1
expect 1 "FAIL golden files" --op neg --cases 1 --golden-dir /nonexistent

# the launcher: forwards arguments to the build it finds, or says how to build
out="$(MT_BUILD_DIR="$(dirname "$(dirname "$exe")")" "$root/verify" --help 2>&1)"
rc=$?
if [ "$rc" != 0 ] || ! grep -qF "usage: ./verify" <<<"$out"; then
  echo "FAIL: ./verify --help through the launcher exited $rc"
  fails=$((fails + 1))
fi
out="$(MT_BUILD_DIR=/nonexistent "$root/verify" --help 2>&1)"
rc=$?
if [ "$rc" != 2 ] || ! grep -qF "build it with" <<<"$out"; then
  echo "FAIL: the launcher without a build exited $rc and said: $out"
  fails=$((fails + 1))
fi

echo "cli_test: $fails failure(s)"
[ "$fails" = 0 ]
