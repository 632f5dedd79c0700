#!/usr/bin/python3
"""PyTorch CPU baseline for ./bench: times the cases ./bench gives it, on the thread count it is
told (torch.set_num_threads), and writes one JSON object per line.

Cases file (written by ./bench), one per line:
    ID BENCH SHAPE_A SHAPE_B|- OP|- DIM BACKWARD
e.g. "matmul/512x512@512x512 matmul 512x512 512x512 - 0 0". For matmul, DIM says which operands
are transposed views (bit 0: A, bit 1: B): SHAPE_A / SHAPE_B stay the logical shapes, and such an
operand is .transpose(-2, -1) of a tensor stored with its last two dims swapped. For nn, DIM is
the op's one parameter (see build_nn) and SHAPE_B the gradient of a pooling backward.

MiniTorch's convolution is PyTorch's after zero-padding K-1 on the right (and bottom): the output
is as long as the input, the kernel anchored left/top. The input is padded once before timing, so
PyTorch is timed on its convolution alone (the padding copy is not charged to it). Forward +
backward times out.backward(g) with gradients for the (padded) input and the weight.

Output (--out), JSON lines:
    {"torch": VERSION, "threads": N, "malloc": "..."}
    {"id": ID, "median_s": ..., "min_s": ..., "max_s": ..., "repetitions": R, "cpu_per_wall": U}
(U: CPU time over wall time of the timed loops, the cores the case kept busy.) The thread pools
are pinned by ./bench through OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and MKL_NUM_THREADS, set
before this process imports torch.
    {"id": ID, "error": MESSAGE}
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F


def shape(text):
    return tuple(int(x) for x in text.split("x"))


def pad_right(x, weight):
    """MiniTorch's form: zeros past the right/bottom edge, K-1 of them per spatial axis."""
    k = weight.shape[2:]
    pads = []
    for kk in reversed(k):  # F.pad takes the last axis first
        pads += [0, kk - 1]
    return F.pad(x, pads)


def check_semantics():
    """MiniTorch's conv1d oracle, and conv2d against its defining sum on a small case."""
    x = torch.tensor([[[0.0, 1.0, 2.0, 3.0]]])
    w = torch.tensor([[[1.0, 2.0, 3.0]]])
    got = F.conv1d(pad_right(x, w), w).flatten().tolist()
    assert got == [8.0, 14.0, 8.0, 3.0], f"conv1d oracle: got {got}"
    g = torch.Generator().manual_seed(0)
    x = torch.rand((2, 3, 5, 4), generator=g, dtype=torch.float64)
    w = torch.rand((4, 3, 2, 3), generator=g, dtype=torch.float64)
    out = F.conv2d(pad_right(x, w), w)
    for b, o, i, j in [(0, 0, 0, 0), (1, 3, 4, 3), (1, 2, 3, 1)]:
        want = 0.0
        for c in range(3):
            for ki in range(2):
                for kj in range(3):
                    if i + ki < 5 and j + kj < 4:
                        want += float(x[b, c, i + ki, j + kj] * w[o, c, ki, kj])
        assert abs(float(out[b, o, i, j]) - want) < 1e-12, "conv2d semantics"


def build(bench, a_shape, b_shape, op, dim, backward, gen):
    def rand(s, grad=False):
        t = torch.rand(s, generator=gen) * 2 - 1
        return t.requires_grad_(grad)

    if bench == "matmul":
        def operand(s, transposed):
            if not transposed:
                return rand(s)
            return rand(s[:-2] + (s[-1], s[-2])).transpose(-2, -1)
        a, b = operand(a_shape, dim & 1), operand(b_shape, dim & 2)
        return lambda: torch.matmul(a, b)
    if bench in ("conv1d", "conv2d"):
        conv = F.conv1d if bench == "conv1d" else F.conv2d
        w = rand(b_shape, backward)
        x = pad_right(rand(a_shape), w.detach()).detach().requires_grad_(backward)
        if not backward:
            def fwd():
                with torch.no_grad():
                    return conv(x, w)
            return fwd
        out_shape = (a_shape[0], b_shape[0]) + tuple(a_shape[2:])
        g = rand(out_shape)

        def fwd_bwd():
            x.grad = None
            w.grad = None
            conv(x, w).backward(g)
        return fwd_bwd
    if bench == "elementwise":
        a = rand(a_shape)
        unary = {"neg": torch.neg, "relu": torch.relu, "exp": torch.exp, "sigmoid": torch.sigmoid,
                 "log": torch.log, "inv": torch.reciprocal, "id": torch.clone}
        if op in unary:
            f = unary[op]
            return lambda: f(a)
        b = rand(b_shape)
        binary = {"add": torch.add, "mul": torch.mul, "lt": torch.lt, "eq": torch.eq}
        if op in binary:
            f = binary[op]
            return lambda: f(a, b)
        raise ValueError(f"no PyTorch equivalent for elementwise op {op}")
    if bench == "reduce":
        a = rand(a_shape)
        if op == "sum":
            return lambda: torch.sum(a, dim, keepdim=True)
        if op == "prod":
            return lambda: torch.prod(a, dim, keepdim=True)
        if op == "max":  # values only, as the engine's max kernel
            return lambda: torch.amax(a, dim, keepdim=True)
        raise ValueError(f"no PyTorch equivalent for reduce op {op}")
    if bench == "nn":
        return build_nn(a_shape, b_shape, op, dim, rand)
    if bench == "train-step":
        return build_train_step(a_shape, gen)
    raise ValueError(f"unknown benchmark {bench}")


def build_nn(a_shape, g_shape, op, param, rand):
    """The nn sweep's cases. PARAM (the cases file's DIM) is the dim for softmax / logsoftmax /
    argmax, the square window (= stride) for pooling, the dropout rate in percent."""
    a = rand(a_shape)
    if op == "softmax":
        return lambda: torch.softmax(a, param)
    if op == "logsoftmax":
        return lambda: torch.log_softmax(a, param)
    if op == "argmax":
        # MiniTorch's argmax is a one-hot mask of the first maximum, the input's shape, not an
        # index tensor: time torch.argmax (which also returns the first maximum) plus the scatter
        # into a zeroed tensor of the input's shape, so both write the same output.
        def one_hot_argmax():
            idx = torch.argmax(a, param, keepdim=True)
            return torch.zeros_like(a).scatter_(param, idx, 1.0)
        return one_hot_argmax
    if op == "dropout":  # training mode: a fresh mask every call, as MiniTorch draws a seed
        p = param / 100.0
        return lambda: F.dropout(a, p, training=True)
    pools = {"avgpool2d": F.avg_pool2d, "maxpool2d": F.max_pool2d}
    if op in pools:
        pool = pools[op]

        def fwd():
            with torch.no_grad():
                return pool(a, param)
        return fwd
    if op in ("avgpool2d_back", "maxpool2d_back"):
        # The backward kernel alone: the forward runs once here, and each timed call asks autograd
        # for d x given the fixed gradient g (retain_graph keeps the saved tensors; torch.autograd.grad
        # returns the gradient without accumulating into x.grad). PyTorch's maxpool backward scatters
        # through the int64 indices its forward saved, where MiniTorch's kernel reads x again to find
        # each window's first maximum: the same output from somewhat different traffic.
        pool = F.avg_pool2d if op == "avgpool2d_back" else F.max_pool2d
        x = a.requires_grad_(True)
        out = pool(x, param)
        g = rand(g_shape)
        return lambda: torch.autograd.grad(out, x, g, retain_graph=True)[0]
    raise ValueError(f"no PyTorch equivalent for nn op {op}")


def build_train_step(in_shape, gen):
    """One training step of ./train's networks as a PyTorch loop runs it (tools/train/torch_mnist.py
    is the MNIST one): copy the host batch in, zero the gradients, forward, loss, backward, SGD
    (lr 0.01), read the loss. (B,1,H,W): the MNIST net, NLL on class labels; (B,D,L): the SST-2
    CNN (conv1d D->100 of widths 3, 4, 5 in MiniTorch's right-padded form, relu, max over time,
    the three summed, linear 100->1, dropout 0.25, sigmoid), BCE."""
    import numpy as np
    b = in_shape[0]
    if len(in_shape) == 4:
        h, w = in_shape[2], in_shape[3]
        host_x = np.random.default_rng(1).random(in_shape, dtype=np.float32)
        host_y = np.arange(b, dtype=np.int64) % 10
        conv1, conv2 = torch.nn.Conv2d(1, 4, 3), torch.nn.Conv2d(4, 8, 3)
        fc1, fc2 = torch.nn.Linear(8 * (h // 4) * (w // 4), 64), torch.nn.Linear(64, 10)
        mods = (conv1, conv2, fc1, fc2)

        def loss_of(x, y):
            x = F.relu(conv1(F.pad(x, (0, 2, 0, 2))))
            x = F.relu(conv2(F.pad(x, (0, 2, 0, 2))))
            x = F.avg_pool2d(x, 4).reshape(b, -1)
            x = F.dropout(F.relu(fc1(x)), 0.25, training=True)
            return F.nll_loss(F.log_softmax(fc2(x), dim=1), y)
    elif len(in_shape) == 3:
        d = in_shape[1]
        host_x = (np.random.default_rng(1).random(in_shape, dtype=np.float32) * 2 - 1)
        host_y = (np.arange(b) % 2).astype(np.float32)
        convs = [torch.nn.Conv1d(d, 100, k) for k in (3, 4, 5)]
        fc = torch.nn.Linear(100, 1)
        mods = (*convs, fc)

        def loss_of(x, y):
            s = sum(torch.amax(F.relu(c(F.pad(x, (0, c.kernel_size[0] - 1)))), 2) for c in convs)
            p = torch.sigmoid(F.dropout(fc(s), 0.25, training=True)).reshape(b)
            return F.binary_cross_entropy(p, y)
    else:
        raise ValueError(f"train-step takes (B,1,H,W) or (B,D,L), got {in_shape}")
    params = [q for m in mods for q in m.parameters()]
    opt = torch.optim.SGD(params, lr=0.01)

    def step():
        x, y = torch.from_numpy(host_x).clone(), torch.from_numpy(host_y).clone()
        opt.zero_grad()
        loss = loss_of(x, y)
        loss.backward()
        opt.step()
        return loss.item()
    return step


def time_case(fn, repetitions, min_time):
    """Warm-up excluded; each repetition runs enough iterations to last min_time; times are
    seconds per iteration."""
    fn()
    fn()
    iters = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        dt = time.perf_counter() - t0
        if dt >= min_time or iters >= 1 << 30:
            break
        iters = max(iters * 2, int(iters * 1.4 * min_time / max(dt, 1e-9)))
    times = [dt / iters]
    # CPU time over wall time of the timed loops: how many cores the case really kept busy, so
    # ./bench can tell when a thread pool ignored the thread count it was given.
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(repetitions - 1):
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        times.append((time.perf_counter() - t0) / iters)
    wall = time.perf_counter() - wall0
    cpu_per_wall = (time.process_time() - cpu0) / wall if wall > 0 else 0.0
    return statistics.median(times), min(times), max(times), cpu_per_wall


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cases", required=True)
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--repetitions", type=int, default=5)
    p.add_argument("--min-time", type=float, default=0.2)
    p.add_argument("--out", required=True)
    args = p.parse_args()

    torch.set_num_threads(args.threads)
    check_semantics()
    malloc = " ".join(f"{k}={os.environ[k]}" for k in ("MALLOC_MMAP_THRESHOLD_",
                                                       "MALLOC_TRIM_THRESHOLD_")
                      if k in os.environ) or "glibc defaults"
    with open(args.cases) as f:
        cases = [line.split() for line in f if line.strip()]
    with open(args.out, "w") as out:
        out.write(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(),
                              "malloc": malloc}) + "\n")
        for n, (cid, bench, a, b, op, dim, backward) in enumerate(cases, 1):
            print(f"[torch] {n}/{len(cases)} {cid} ({malloc})", file=sys.stderr, flush=True)
            try:
                gen = torch.Generator().manual_seed(n)
                fn = build(bench, shape(a), None if b == "-" else shape(b), op, int(dim),
                           backward == "1", gen)
                med, lo, hi, util = time_case(fn, args.repetitions, args.min_time)
                rec = {"id": cid, "median_s": med, "min_s": lo, "max_s": hi,
                       "repetitions": args.repetitions, "cpu_per_wall": round(util, 3)}
            except (ValueError, RuntimeError) as e:
                rec = {"id": cid, "error": str(e).replace('"', "'").splitlines()[0]}
            out.write(json.dumps(rec) + "\n")
            out.flush()


if __name__ == "__main__":
    main()
