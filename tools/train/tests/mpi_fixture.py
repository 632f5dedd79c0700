#!/usr/bin/env python3
"""Small data sets for the MPI tests (mpi_test.sh), standard library only, fixed seed.

  ROOT/mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte: 8x8 images, 98 training and 40 test;
      class k lights a block at a k-dependent place, plus noise (so the net learns something and
      every gradient is non-trivial). 98 = 6 batches of 16 + one of 2: with 3 ranks that last
      batch leaves rank 0's shard empty.
  ROOT/sst2/{train,dev}.tsv: 59 / 20 sentences over a small vocabulary, label 1 when a "good"
      word outnumbers a "bad" one; lengths 2..9 so batches pad to different lengths.
  ROOT/data/cache/glove100.bin: 8-d vectors for a few of the words (the others get the trainer's
      hashed vectors), in data/glove_convert.py's format (tools/train/glove.h).
"""
import os
import random
import struct
import sys


def idx_images(path, images, side):
    with open(path, "wb") as f:
        f.write(struct.pack(">IIII", 0x803, len(images), side, side))
        for img in images:
            f.write(bytes(img))


def idx_labels(path, labels):
    with open(path, "wb") as f:
        f.write(struct.pack(">II", 0x801, len(labels)))
        f.write(bytes(labels))


def mnist(root, rng):
    side = 8
    os.makedirs(os.path.join(root, "mnist"), exist_ok=True)
    for name, n in (("train", 98), ("t10k", 40)):
        images, labels = [], []
        for _ in range(n):
            k = rng.randrange(10)
            img = [rng.randrange(60) for _ in range(side * side)]
            r, c = (k // 4) * 2 + 1, (k % 4) * 2
            for dr in (0, 1):
                for dc in (0, 1):
                    img[(r + dr) * side + c + dc] = 200 + rng.randrange(56)
            images.append(img)
            labels.append(k)
        idx_images(os.path.join(root, "mnist", f"{name}-images-idx3-ubyte"), images, side)
        idx_labels(os.path.join(root, "mnist", f"{name}-labels-idx1-ubyte"), labels)


GOOD = ["good", "great", "fine", "fun", "warm"]
BAD = ["bad", "dull", "poor", "cold", "flat"]
FILL = ["the", "film", "was", "a", "plot", "and", "it", "very", "story", "cast"]


def sst2(root, rng):
    os.makedirs(os.path.join(root, "sst2"), exist_ok=True)
    for name, n in (("train", 59), ("dev", 20)):
        with open(os.path.join(root, "sst2", f"{name}.tsv"), "w") as f:
            f.write("sentence\tlabel\n")
            for _ in range(n):
                words = [rng.choice(FILL) for _ in range(rng.randrange(1, 7))]
                good, bad = rng.randrange(3), rng.randrange(3)
                if good == bad:
                    good += 1
                words += [rng.choice(GOOD) for _ in range(good)]
                words += [rng.choice(BAD) for _ in range(bad)]
                rng.shuffle(words)
                f.write(" ".join(words[:9]) + "\t" + str(int(good > bad)) + "\n")


def glove(root, rng):
    dims = 8
    words = GOOD + BAD + FILL[:4]
    block = b"".join(struct.pack("<H", len(w)) + w.encode() for w in words)
    block += b"\0" * (-len(block) % 4)
    os.makedirs(os.path.join(root, "data", "cache"), exist_ok=True)
    with open(os.path.join(root, "data", "cache", "glove100.bin"), "wb") as f:
        f.write(b"MTGLOVE\0" + struct.pack("<IIII", 1, len(words), dims, len(block)) + block)
        for w in words:
            sign = 1.0 if w in GOOD else -1.0 if w in BAD else 0.0
            vec = [sign * 0.3 + rng.uniform(-0.2, 0.2) for _ in range(dims)]
            f.write(struct.pack(f"<{dims}f", *vec))


def main():
    root = sys.argv[1]
    rng = random.Random(19)
    mnist(root, rng)
    sst2(root, rng)
    glove(root, rng)


if __name__ == "__main__":
    main()
