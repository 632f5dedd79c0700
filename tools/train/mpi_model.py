#!/usr/bin/env python3
"""Predicted data-parallel epoch times for ./train on N machines (reports/mpi-scaling.md).

Ring-allreduce cost of one step's gradient sum (the Alltoallv + Allgatherv of dist_mpi.c move the
same bytes and take the same number of message rounds as a ring):
    c(N) = 2 (N-1) alpha + 2 (N-1)/N * S / beta
S: bytes summed per step, beta: link bandwidth (bytes/s), alpha: per-message latency.
Epoch time = steps * (t(b) + c(N)), t(b): measured seconds per step of one process at batch b
(the largest shard a rank sees). Two ways to use N machines:
  fixed global batch B (the run of one process, same losses): b = ceil(B/N), steps = ceil(n/B);
  fixed batch per rank (global batch N*B, another optimisation): b = B, steps = ceil(n/(N*B)).

Usage: mpi_model.py "mnist per-step seconds: b16=... b8=..." "sst2 per-step seconds: b10=..."
       (the lines tools/train/mpi_scaling.sh prints); writes markdown tables to stdout.
"""
import math
import re
import sys

LINKS = [  # name, beta (bytes/s), alpha (s per message): assumptions, stated in the report
    ("10 Gb/s Ethernet (TCP, alpha 20 us)", 10e9 / 8, 20e-6),
    ("100 Gb/s (RDMA, alpha 3 us)", 100e9 / 8, 3e-6),
]
MODELS = {  # task: (training examples, global batch B, parameters); S = 4 * (params + 2)
    "mnist": (60000, 16, 26138),
    "sst2": (67349, 10, 120401),
}
NS = [1, 2, 4, 8, 16]


def comm(n, s, beta, alpha):
    return 0.0 if n == 1 else 2 * (n - 1) * alpha + 2 * (n - 1) / n * s / beta


def parse(line):
    return {int(b): float(t) for b, t in re.findall(r"b(\d+)=([0-9.eE+-]+)", line)}


def table(task, t):
    n_ex, batch, params = MODELS[task]
    s = 4 * (params + 2)  # the gradients and the two extras (loss, correct count) of dist.c
    out = [f"### {task}: {params:,} parameters, {s:,} bytes summed per step, "
           f"global batch {batch}, {n_ex:,} examples\n"]
    out.append("| N | link | fixed global batch: shard, step compute + sum (us), epoch (s), "
               "speedup | fixed batch per rank: epoch (s), speedup |")
    out.append("|---|---|---|---|")
    for name, beta, alpha in LINKS:
        base = math.ceil(n_ex / batch) * t[batch]
        for n in NS:
            b = math.ceil(batch / n)
            c = comm(n, s, beta, alpha)
            strong = math.ceil(n_ex / batch) * (t[b] + c)
            weak = math.ceil(n_ex / (n * batch)) * (t[batch] + c)
            out.append(f"| {n} | {name} | {b}: {1e6 * t[b]:.0f} + {1e6 * c:.0f}, "
                       f"{strong:.2f} s, {base / strong:.2f}x | {weak:.2f} s, "
                       f"{base / weak:.2f}x |")
        # where the fixed-global-batch run stops gaining: the N (up to the batch) of least time
        best = min(range(1, batch + 1), key=lambda n: math.ceil(n_ex / batch) * (
            t.get(math.ceil(batch / n), t[min(t, key=lambda k: abs(k - batch / n))]) +
            comm(n, s, beta, alpha)))
        # fixed per-rank batch: efficiency t / (t + c) falls below 50% where c(N) = t(B)
        half = next((n for n in range(2, 4097) if comm(n, s, beta, alpha) >= t[batch]), None)
        out.append(f"| | {name} | fastest at N = {best} | efficiency below 50% from N = "
                   f"{half if half else '> 4096'} |")
    return "\n".join(out) + "\n"


def main():
    for arg in sys.argv[1:]:
        task = arg.split()[0]
        if task in MODELS:
            print(table(task, parse(arg)))


if __name__ == "__main__":
    main()
