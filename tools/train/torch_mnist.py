#!/usr/bin/python3
"""The speed baseline for ./train mnist: MiniTorch's MNIST network, batch and optimizer in PyTorch
(CPU), trained on the same IDX files, timed per epoch as ./train times it (training steps only:
copy a batch in, forward, NLL loss, backward, SGD step, read the loss).

The thread count is pinned before torch is imported: OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and
MKL_NUM_THREADS (Debian's PyTorch runs matmul in OpenBLAS, whose pool ignores
torch.set_num_threads) as well as torch.set_num_threads and set_num_interop_threads.

MiniTorch's convolution keeps the input's size, kernel anchored top-left, zeros past the right and
bottom edges: PyTorch's conv2d after padding 2 zeros on the right and bottom.

Prints one JSON line: {"torch": VERSION, "threads": N, "examples": E, "seconds": [per epoch...],
"examples_per_s": best, "final_loss": L}.
"""
import argparse
import json
import os
import sys
import time


def read_idx(path, magic, ndim):
    with open(path, "rb") as f:
        data = f.read()
    if int.from_bytes(data[0:4], "big") != magic:
        sys.exit(f"torch_mnist: {path}: not an IDX file with magic {magic:#x}")
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return dims, data[4 + 4 * ndim:]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="folder with train-images-idx3-ubyte, ...")
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--limit", type=int, default=0, help="first N training images (0: all)")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import numpy as np
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(args.seed)
    (n, h, w), px = read_idx(os.path.join(args.data, "train-images-idx3-ubyte"), 0x803, 3)
    (nl,), lab = read_idx(os.path.join(args.data, "train-labels-idx1-ubyte"), 0x801, 1)
    if nl != n:
        sys.exit("torch_mnist: image and label counts differ")
    if args.limit:
        n = min(n, args.limit)
    x_all = torch.from_numpy(np.frombuffer(px, np.uint8, n * h * w).reshape(n, 1, h, w).astype(np.float32) / 255.0)
    y_all = torch.from_numpy(np.frombuffer(lab, np.uint8, n).astype(np.int64))

    conv1 = torch.nn.Conv2d(1, 4, 3)
    conv2 = torch.nn.Conv2d(4, 8, 3)
    fc1 = torch.nn.Linear(8 * (h // 4) * (w // 4), 64)
    fc2 = torch.nn.Linear(64, 10)
    params = [q for m in (conv1, conv2, fc1, fc2) for q in m.parameters()]
    opt = torch.optim.SGD(params, lr=0.01)

    def forward(x):
        x = F.relu(conv1(F.pad(x, (0, 2, 0, 2))))
        x = F.relu(conv2(F.pad(x, (0, 2, 0, 2))))
        x = F.avg_pool2d(x, 4).reshape(x.shape[0], -1)
        x = F.dropout(F.relu(fc1(x)), 0.25, training=True)
        return F.log_softmax(fc2(x), dim=1)

    batch, seconds, loss_value = 16, [], 0.0
    for _ in range(args.epochs):
        order = torch.randperm(n)
        t0 = time.perf_counter()
        for start in range(0, n - batch + 1, batch):
            idx = order[start:start + batch]
            xb, yb = x_all[idx], y_all[idx]
            opt.zero_grad()
            loss = F.nll_loss(forward(xb), yb)
            loss.backward()
            opt.step()
            loss_value = loss.item()
        seconds.append(time.perf_counter() - t0)
    steps = (n // batch) * batch
    print(json.dumps({"torch": torch.__version__, "threads": args.threads, "examples": steps,
                      "seconds": seconds, "examples_per_s": steps / min(seconds),
                      "final_loss": loss_value}))


if __name__ == "__main__":
    main()
