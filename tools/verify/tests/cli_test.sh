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
expect 2 "--golden-dir /nonexistent: No such file or directory" --op neg --cases 1 --golden-dir /nonexistent
expect 2 "--op needs names separated by commas, none of them empty" --op ,
expect 2 "--op needs names separated by commas, none of them empty" --op ""
expect 2 "--op needs names separated by commas, none of them empty" --op neg,,add
expect 2 "--backend needs names separated by commas, none of them empty" --backend ,
# seeds are decimal: 010 is ten (not octal eight), 08 is eight (not an octal error)
expect 0 "verify: seed 10," --op neg --cases 1 --backend naive --seed 010
expect 0 "verify: seed 8," --op neg --cases 1 --backend naive --seed 08
expect 2 "non-negative integer, got '0x10'" --seed 0x10

# The reproduce line repeats --golden-dir: a folder whose one golden file disagrees with the engine.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$root"/golden/cases/neg_* "$tmp"/
f=$(ls "$tmp"/* | head -1)
# change a value and write the checksum again: a well-formed file the engine disagrees with
python3 - "$f" <<'PYEOF'
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
b[-10] ^= 0x08  # an exponent bit of the last float64 (a value or gradient): a different number
h = 0xcbf29ce484222325
for x in b[:-8]:
    h = ((h ^ x) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
b[-8:] = struct.pack("<Q", h)
open(sys.argv[1], "wb").write(b)
PYEOF
out="$("$exe" --op neg --cases 1 --backend naive --golden-dir "$tmp" 2>&1)"
if grep -qF -- "--golden-dir '$tmp'" <<<"$out"; then
  echo "ok: the reproduce line repeats --golden-dir"
else
  echo "FAIL: no reproduce line with --golden-dir '$tmp' in:"; grep -i "reproduce\|FAIL" <<<"$out" | head -5
  fails=$((fails + 1))
fi

# A report that cannot be written fails the run (/proc: nobody can create files there).
expect 1 "cannot write the report in /proc" --op neg --cases 1 --backend naive --report-dir /proc
expect 2 "cannot create /proc/no/such" --op neg --cases 1 --backend naive --report-dir /proc/no/such
# Two reports in the same second: two files, and the index lists both.
"$exe" --op neg --cases 1 --backend naive --report-dir "$tmp/r" >/dev/null 2>&1 &
"$exe" --op neg --cases 1 --backend naive --report-dir "$tmp/r" >/dev/null 2>&1
wait
n=$(ls "$tmp"/r/verify-*.md | wc -l)
m=$(grep -c "^- \[verify-" "$tmp/r/README.md")
if [ "$n" = 2 ] && [ "$m" = 2 ]; then
  echo "ok: two reports, both indexed"
else
  echo "FAIL: $n report(s) written, $m indexed: $(ls "$tmp/r")"
  fails=$((fails + 1))
fi
expect 0 "verify: PASS" --op sum,conv2d --quick --cases 2 --backend naive
expect 2 "--quick takes no value" --quick=1

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
