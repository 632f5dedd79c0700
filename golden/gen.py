#!/usr/bin/env python3
"""Golden cases for the MiniTorch-C verifier, computed by NumPy in float64.

    python3 golden/gen.py                 # (re)writes golden/cases/*.mtgold
    python3 golden/gen.py --out DIR       # writes somewhere else
    python3 golden/gen.py --check         # regenerates into a temp dir, compares with golden/cases

Every case holds its inputs (float32 values, stored as float64), the op's output, and, for
differentiable ops, a cotangent r and the analytic gradients of sum(out * r) with respect to each
input. The file format is described in golden/README.md.

The semantics are the engine's (engine/include/minitorch.h, engine/scalar_ops.h), which follow
MiniTorch: relu(NaN) = 0, sigmoid in its overflow-free two-branch form, log is IEEE log,
is_close is |a - b| < 1e-2, conv is MiniTorch's cross-correlation (or PyTorch's with stride/pad),
max/argmax/maxpool gradients go to the first maximum.

Values come from a small splitmix64 generator written out here, not from NumPy's generators, so the
inputs are the same bits on every NumPy version.
"""

import argparse
import math
import os
import shutil
import struct
import sys
import tempfile

MAGIC = b"MTGOLD"
VERSION = 1
SKIP_EXIT = 77  # CTest's SKIP_RETURN_CODE for the --check test
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "cases")
# Whole-model cases live apart: the verifier reads every file in cases/ as one op's case.
MODELS_OUT = os.path.join(HERE, "models")
REGEN_HINT = "HINT: regenerate with: python3 golden/gen.py   (then review and commit golden/cases)"
MAX_TOTAL_BYTES = 2 * 1024 * 1024

try:
    import numpy as np
except ImportError:  # handled in main(): --check is skipped, generation fails
    np = None


# ------------------------------------------------------------------------------- values
class Rng:
    """splitmix64: the whole generator, so the inputs never depend on NumPy's streams."""

    MASK = (1 << 64) - 1

    def __init__(self, seed):
        self.state = seed & self.MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & self.MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & self.MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & self.MASK
        return z ^ (z >> 31)

    def unit(self):
        """[0, 1) with 24 bits: exactly representable in float32."""
        return (self.next() >> 40) / float(1 << 24)

    def uniform(self, shape, lo, hi):
        n = int(np.prod(shape))
        vals = [lo + (hi - lo) * self.unit() for _ in range(n)]
        return f32(np.array(vals, dtype=np.float64).reshape(shape))

    def signed(self, shape, lo, hi):
        """|x| in [lo, hi) with a random sign (keeps away from 0)."""
        mag = self.uniform(shape, lo, hi)
        sign = np.array([1.0 if self.next() >> 63 else -1.0 for _ in range(mag.size)])
        return mag * sign.reshape(shape)

    def ints(self, shape, lo, hi):
        """integers in [lo, hi]: ties and exact zeros on purpose."""
        n = int(np.prod(shape))
        return np.array([lo + self.next() % (hi - lo + 1) for _ in range(n)],
                        dtype=np.float64).reshape(shape)


def f32(x):
    """Rounds to float32 and back: every input the C side reads is a float32 value."""
    return np.asarray(x, dtype=np.float32).astype(np.float64)


SPECIALS = [0.0, -0.0, math.inf, -math.inf, math.nan, 1.0, -1.0, 0.5, -2.5, 100.0, -100.0]


# ------------------------------------------------------------------------------- scalar semantics
def sigmoid(x):
    # engine/scalar_ops.h: 1/(1+e^-x) for x >= 0, e^x/(1+e^x) otherwise (neither overflows)
    with np.errstate(over="ignore", invalid="ignore"):
        pos = 1.0 / (1.0 + np.exp(-np.where(x >= 0, x, 0.0)))
        e = np.exp(np.where(x >= 0, 0.0, x))
        neg = e / (1.0 + e)
    out = np.where(x >= 0, pos, neg)
    return np.where(np.isnan(x), np.nan, out)


def relu(x):
    return np.where(x > 0, x, 0.0)  # MiniTorch: a if a > 0 else 0, so relu(NaN) = 0


MAPS = {
    # name: (forward, gradient of sum(out * r))
    "neg": (lambda x: -x, lambda x, r: -r),
    "id": (lambda x: x.copy(), lambda x, r: r),
    "inv": (lambda x: 1.0 / x, lambda x, r: -r / (x * x)),
    "relu": (relu, lambda x, r: np.where(x > 0, r, 0.0)),
    "sigmoid": (sigmoid, lambda x, r: sigmoid(x) * (1.0 - sigmoid(x)) * r),
    "log": (lambda x: np.log(x), lambda x, r: r / x),
    "exp": (lambda x: np.exp(x), lambda x, r: np.exp(x) * r),
    "sqrt": (lambda x: np.sqrt(x), lambda x, r: r / (2.0 * np.sqrt(x))),
}


def unbroadcast(g, shape):
    """Sums g over the dims an input of `shape` was broadcast along (MiniTorch's expand)."""
    lead = g.ndim - len(shape)
    g = g.sum(axis=tuple(range(lead))) if lead else g
    axes = tuple(d for d, s in enumerate(shape) if s == 1 and g.shape[d] != 1)
    return g.sum(axis=axes, keepdims=True) if axes else g


def first_max_mask(x, dim):
    """One-hot mask of the first (lowest index) maximum along dim."""
    idx = np.argmax(x, axis=dim)  # numpy's argmax returns the first maximum
    mask = np.zeros_like(x)
    np.put_along_axis(mask, np.expand_dims(idx, dim), 1.0, axis=dim)
    return mask


# ------------------------------------------------------------------------------- convolution
def conv_positions(n_out, n_in, k, stride, pad, reverse):
    """For output positions 0..n_out-1 and tap k: the input position read, and whether it is
    inside the input (reads outside are zero)."""
    t = np.arange(n_out)
    pos = t - k if reverse else t * stride + k - pad
    return pos, (pos >= 0) & (pos < n_in)


def conv1d(x, w, r, stride, pad, reverse, n_out):
    B, Cin, W = x.shape
    Cout, _, K = w.shape
    out = np.zeros((B, Cout, n_out))
    gx, gw = np.zeros_like(x), np.zeros_like(w)
    for k in range(K):
        pos, ok = conv_positions(n_out, W, k, stride, pad, reverse)
        xs = np.zeros((B, Cin, n_out))
        xs[:, :, ok] = x[:, :, pos[ok]]
        out += np.einsum("bit,oi->bot", xs, w[:, :, k])
        gw[:, :, k] = np.einsum("bot,bit->oi", r, xs)
        contrib = np.einsum("bot,oi->bit", r, w[:, :, k])
        np.add.at(gx, (slice(None), slice(None), pos[ok]), contrib[:, :, ok])
    return out, gx, gw


def conv2d(x, w, r, stride, pad, reverse, n_out):
    B, Cin, H, W = x.shape
    Cout, _, KH, KW = w.shape
    Ho, Wo = n_out
    out = np.zeros((B, Cout, Ho, Wo))
    gx, gw = np.zeros_like(x), np.zeros_like(w)
    for kh in range(KH):
        ph, okh = conv_positions(Ho, H, kh, stride[0], pad[0], reverse)
        for kw in range(KW):
            pw, okw = conv_positions(Wo, W, kw, stride[1], pad[1], reverse)
            xs = np.zeros((B, Cin, Ho, Wo))
            rows, cols = np.nonzero(np.outer(okh, okw))
            xs[:, :, rows, cols] = x[:, :, ph[rows], pw[cols]]
            out += np.einsum("bihw,oi->bohw", xs, w[:, :, kh, kw])
            gw[:, :, kh, kw] = np.einsum("bohw,bihw->oi", r, xs)
            contrib = np.einsum("bohw,oi->bihw", r, w[:, :, kh, kw])
            np.add.at(gx, (slice(None), slice(None), ph[rows], pw[cols]),
                      contrib[:, :, rows, cols])
    return out, gx, gw


def conv_out_len(n, k, stride, pad, pytorch):
    return (n + 2 * pad - k) // stride + 1 if pytorch else n


def self_check_conv():
    """The oracles from MiniTorch's tests and course pages pin the convolution form."""
    x = np.array([[[0.0, 1, 2, 3]]])
    w = np.array([[[1.0, 2, 3]]])
    out, _, _ = conv1d(x, w, np.zeros((1, 1, 4)), 1, 0, False, 4)
    assert out.ravel().tolist() == [8, 14, 8, 3], out
    x = np.arange(1.0, 7).reshape(1, 1, 6)
    w = np.array([[[5.0, 2, 3]]])
    out, _, _ = conv1d(x, w, np.zeros((1, 1, 6)), 1, 0, False, 6)
    assert out.ravel().tolist() == [18, 28, 38, 48, 37, 30], out


# ------------------------------------------------------------------------------- the cases
class Case:
    def __init__(self, op, label, params=None):
        self.op, self.label = op, label
        self.params = params or {}
        self.arrays = []  # (name, float64 array), written in this order

    def add(self, name, arr):
        self.arrays.append((name, np.ascontiguousarray(arr, dtype=np.float64)))
        return self


def params_text(params):
    def fmt(v):
        if isinstance(v, (tuple, list)):
            return ",".join(str(int(e)) for e in v)
        return str(int(v)) if isinstance(v, (bool, int)) else repr(v)

    return " ".join("%s=%s" % (k, fmt(v)) for k, v in params.items())


def map_cases(rng):
    ranges = {
        "neg": (-1, 1), "id": (-1, 1), "relu": (-1, 1), "sigmoid": (-10, 10),
        "exp": (-5, 5), "log": (0.1, 4), "inv": None, "sqrt": (0.1, 4),
    }
    for name, (fwd, grad) in MAPS.items():
        lohi = ranges[name]
        x = rng.signed((3, 5), 0.25, 4) if lohi is None else rng.uniform((3, 5), *lohi)
        r = rng.uniform(x.shape, -1, 1)
        yield Case(name, "values").add("in0", x).add("out", fwd(x)).add("r", r) \
            .add("grad0", grad(x, r))
        # IEEE corner cases: zeros of both signs, infinities, NaN, large values
        x = np.array(SPECIALS)
        r = rng.uniform(x.shape, -1, 1)
        with np.errstate(all="ignore"):
            out, g = fwd(x), grad(x, r)
        yield Case(name, "specials").add("in0", x).add("out", out).add("r", r).add("grad0", g)
    # relu at exactly 0 and small integers: the kink's convention (gradient 0 at 0)
    x = rng.ints((4, 6), -2, 2)
    r = rng.uniform(x.shape, -1, 1)
    yield Case("relu", "integers").add("in0", x).add("out", relu(x)).add("r", r) \
        .add("grad0", MAPS["relu"][1](x, r))


ZIPS = {
    "add": lambda a, b: a + b,
    "mul": lambda a, b: a * b,
    "lt": lambda a, b: (a < b).astype(np.float64),
    "eq": lambda a, b: (a == b).astype(np.float64),
    "is_close": lambda a, b: (np.abs(a - b) < 1e-2).astype(np.float64),
}
ZIP_GRADS = {
    "add": lambda a, b, r: (unbroadcast(r, a.shape), unbroadcast(r, b.shape)),
    "mul": lambda a, b, r: (unbroadcast(r * b, a.shape), unbroadcast(r * a, b.shape)),
}


def zip_cases(rng):
    pairs = [
        ("same", (3, 4), (3, 4)),
        ("broadcast", (2, 1, 4), (3, 1)),     # both sides broadcast: (2, 3, 4)
        ("rank", (1, 5), (2, 3, 5)),          # missing leading dims
    ]
    for name, fn in ZIPS.items():
        for label, sa, sb in pairs:
            if name in ZIP_GRADS:
                a, b = rng.uniform(sa, -2, 2), rng.uniform(sb, -2, 2)
            elif name == "is_close" and label == "same":
                a = rng.uniform(sa, -2, 2)
                b = f32(a + rng.uniform(sa, -0.02, 0.02))  # on both sides of the tolerance
            else:
                a, b = rng.ints(sa, -2, 2), rng.ints(sb, -2, 2)  # equalities happen
            c = Case(name, label).add("in0", a).add("in1", b).add("out", fn(a, b))
            if name in ZIP_GRADS:
                r = rng.uniform(np.broadcast_shapes(sa, sb), -1, 1)
                ga, gb = ZIP_GRADS[name](a, b, r)
                c.add("r", r).add("grad0", ga).add("grad1", gb)
            yield c
        # every pair of special values, through a (7,1) x (1,7) broadcast
        sp = np.array(SPECIALS[:7])
        a, b = sp.reshape(7, 1), sp.reshape(1, 7)
        with np.errstate(all="ignore"):
            c = Case(name, "specials").add("in0", a).add("in1", b).add("out", fn(a, b))
            if name in ZIP_GRADS:
                r = rng.uniform((7, 7), -1, 1)
                ga, gb = ZIP_GRADS[name](a, b, r)
                c.add("r", r).add("grad0", ga).add("grad1", gb)
        yield c


def reduce_cases(rng):
    shape = (3, 4, 5)
    for dim in (0, 1, 2):
        x = rng.uniform(shape, -1, 1)
        r = rng.uniform(x.shape[:dim] + (1,) + x.shape[dim + 1:], -1, 1)
        yield Case("sum", "dim%d" % dim, {"dim": dim}).add("in0", x) \
            .add("out", x.sum(axis=dim, keepdims=True)).add("r", r) \
            .add("grad0", np.broadcast_to(r, x.shape))
        x = rng.signed(shape, 0.8, 1.25)
        yield Case("prod", "dim%d" % dim, {"dim": dim}).add("in0", x) \
            .add("out", x.prod(axis=dim, keepdims=True))
        x = rng.uniform(shape, -1, 1)
        yield Case("max", "dim%d" % dim, {"dim": dim}).add("in0", x) \
            .add("out", x.max(axis=dim, keepdims=True)).add("r", r) \
            .add("grad0", first_max_mask(x, dim) * r)
    # ties: the gradient goes to the first maximum only
    x = rng.ints((4, 6), -1, 1)
    r = rng.uniform((4, 1), -1, 1)
    yield Case("max", "ties", {"dim": 1}).add("in0", x).add("out", x.max(axis=1, keepdims=True)) \
        .add("r", r).add("grad0", first_max_mask(x, 1) * r)
    # infinities and NaN: NaN wins max and poisons sums (numpy's rules, the engine's too)
    x = np.array([[1.0, math.inf, -2.0], [math.inf, -math.inf, 0.0], [math.nan, 5.0, -1.0],
                  [-math.inf, -math.inf, -math.inf]])
    with np.errstate(invalid="ignore"):
        sums, maxes = x.sum(axis=1, keepdims=True), x.max(axis=1, keepdims=True)
    yield Case("sum", "specials", {"dim": 1}).add("in0", x).add("out", sums)
    yield Case("max", "specials", {"dim": 1}).add("in0", x).add("out", maxes)


def matmul_cases(rng):
    shapes = [
        ("2d", (5, 7), (7, 3)),
        ("batched", (2, 3, 4), (2, 4, 5)),
        ("broadcast", (4, 5), (2, 5, 3)),          # a's batch is broadcast
        ("broadcast_both", (2, 1, 3, 4), (3, 4, 2)),  # (2,1) x (3,) -> (2,3)
    ]
    for label, sa, sb in shapes:
        a, b = rng.uniform(sa, -1, 1), rng.uniform(sb, -1, 1)
        out = np.matmul(a, b)
        r = rng.uniform(out.shape, -1, 1)
        ga = unbroadcast(np.matmul(r, np.swapaxes(b, -1, -2)), sa)
        gb = unbroadcast(np.matmul(np.swapaxes(a, -1, -2), r), sb)
        yield Case("matmul", label).add("in0", a).add("in1", b).add("out", out).add("r", r) \
            .add("grad0", ga).add("grad1", gb)


def conv_params(pytorch, stride, pad, reverse):
    return {"pytorch": pytorch, "reverse": reverse, "stride": stride, "pad": pad}


def conv1d_cases(rng):
    forms = [
        ("minitorch", 2, 3, 7, 4, 3, False, 1, 0, False),
        ("reverse", 2, 3, 7, 4, 3, False, 1, 0, True),
        ("kernel_wider", 1, 2, 3, 2, 5, False, 1, 0, False),
        ("pytorch_valid", 2, 2, 9, 3, 3, True, 1, 0, False),
        ("pytorch_stride_pad", 2, 3, 10, 2, 4, True, 2, 1, False),
    ]
    oracle = Case("conv1d", "oracle", conv_params(0, (1,), (0,), 0))
    x, w = np.array([[[0.0, 1, 2, 3]]]), np.array([[[1.0, 2, 3]]])
    r = rng.uniform((1, 1, 4), -1, 1)
    out, gx, gw = conv1d(x, w, r, 1, 0, False, 4)
    yield oracle.add("in0", x).add("in1", w).add("out", out).add("r", r).add("grad0", gx) \
        .add("grad1", gw)
    for label, B, Cin, W, Cout, K, pytorch, stride, pad, reverse in forms:
        x, w = rng.uniform((B, Cin, W), -1, 1), rng.uniform((Cout, Cin, K), -1, 1)
        n_out = conv_out_len(W, K, stride, pad, pytorch)
        r = rng.uniform((B, Cout, n_out), -1, 1)
        out, gx, gw = conv1d(x, w, r, stride, pad, reverse, n_out)
        p = conv_params(int(pytorch), (stride,), (pad,), int(reverse))  # one axis
        yield Case("conv1d", label, p).add("in0", x).add("in1", w).add("out", out).add("r", r) \
            .add("grad0", gx).add("grad1", gw)


def conv2d_cases(rng):
    forms = [
        ("minitorch", 2, 2, (5, 6), 3, (3, 2), False, (1, 1), (0, 0), False),
        ("reverse", 2, 2, (5, 6), 3, (3, 2), False, (1, 1), (0, 0), True),
        ("one_by_one", 1, 3, (4, 4), 2, (1, 1), False, (1, 1), (0, 0), False),
        ("pytorch_stride_pad", 2, 2, (7, 6), 3, (3, 3), True, (2, 1), (1, 0), False),
    ]
    for label, B, Cin, (H, W), Cout, (KH, KW), pytorch, stride, pad, reverse in forms:
        x, w = rng.uniform((B, Cin, H, W), -1, 1), rng.uniform((Cout, Cin, KH, KW), -1, 1)
        n_out = (conv_out_len(H, KH, stride[0], pad[0], pytorch),
                 conv_out_len(W, KW, stride[1], pad[1], pytorch))
        r = rng.uniform((B, Cout) + n_out, -1, 1)
        out, gx, gw = conv2d(x, w, r, stride, pad, reverse, n_out)
        p = conv_params(int(pytorch), stride, pad, int(reverse))
        yield Case("conv2d", label, p).add("in0", x).add("in1", w).add("out", out).add("r", r) \
            .add("grad0", gx).add("grad1", gw)


def windows(x, kh, kw):
    """(B,C,H,W) -> (B,C,H/kh,W/kw,kh*kw), MiniTorch's tile (row-major inside a window)."""
    B, C, H, W = x.shape
    t = x.reshape(B, C, H // kh, kh, W // kw, kw).transpose(0, 1, 2, 4, 3, 5)
    return t.reshape(B, C, H // kh, W // kw, kh * kw)


def untile(t, kh, kw):
    B, C, nh, nw, _ = t.shape
    return t.reshape(B, C, nh, nw, kh, kw).transpose(0, 1, 2, 4, 3, 5) \
        .reshape(B, C, nh * kh, nw * kw)


def pool_cases(rng):
    for label, shape, (kh, kw), ints in [("2x2", (2, 3, 4, 6), (2, 2), False),
                                          ("3x2", (1, 2, 6, 4), (3, 2), False),
                                          ("ties", (1, 2, 4, 4), (2, 2), True)]:
        x = rng.ints(shape, -1, 1) if ints else rng.uniform(shape, -1, 1)
        t = windows(x, kh, kw)
        r = rng.uniform(t.shape[:4], -1, 1)
        p = {"kernel": (kh, kw)}
        if not ints:
            g = untile(np.broadcast_to(r[..., None] / (kh * kw), t.shape), kh, kw)
            yield Case("avgpool2d", label, p).add("in0", x).add("out", t.mean(axis=4)) \
                .add("r", r).add("grad0", g)
        # np.where, not mask * r: the cells that are not the maximum get +0, never -0 (the
        # kernel is exact, so the sign of zero is compared)
        g = untile(np.where(first_max_mask(t, 4) > 0, r[..., None], 0.0), kh, kw)
        yield Case("maxpool2d", label, p).add("in0", x).add("out", t.max(axis=4)).add("r", r) \
            .add("grad0", g)


def softmax(x, dim):
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


def logsoftmax(x, dim):
    m = x.max(axis=dim, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=dim, keepdims=True))


def along_dim_cases(rng):
    for label, x, dim in [("dim1", rng.uniform((3, 5), -3, 3), 1),
                          ("dim0", rng.uniform((4, 2, 3), -3, 3), 0),
                          # needs the max shift: exp(1000) overflows even float64
                          ("shifted", f32(1000.0 + rng.uniform((2, 6), -3, 3)), 1),
                          # +-1000 along dim 0 of rows side by side: the kernels' tiled form
                          # (openmp: 8 or more neighbouring rows) needs its max shift too
                          # (each column a row of the op: +-1000 offsets, a spread of 6)
                          ("tiled_huge", f32(rng.uniform((5, 9), -3, 3) +
                                             1000.0 * (-1.0) ** np.arange(9)), 0)]:
        r = rng.uniform(x.shape, -1, 1)
        s = softmax(x, dim)
        p = {"dim": dim}
        yield Case("softmax", label, p).add("in0", x).add("out", s).add("r", r) \
            .add("grad0", s * (r - (r * s).sum(axis=dim, keepdims=True)))
        yield Case("logsoftmax", label, p).add("in0", x).add("out", logsoftmax(x, dim)) \
            .add("r", r).add("grad0", r - s * r.sum(axis=dim, keepdims=True))
    for label, x, dim in [("dim1", rng.uniform((3, 5), -1, 1), 1),
                          ("ties", rng.ints((3, 4, 2), -1, 1), 1)]:
        yield Case("argmax", label, {"dim": dim}).add("in0", x).add("out", first_max_mask(x, dim))


def dropout_keep(seed, ordinal, rate):
    """engine/dropout_hash.h: splitmix64's ordinal-th output, its top 24 bits as u in [0, 1)."""
    m = Rng.MASK
    z = (seed + (ordinal + 1) * 0x9E3779B97F4A7C15) & m
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & m
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & m
    z ^= z >> 31
    return (z >> 40) / float(1 << 24) >= rate


def dropout_cases(rng):
    """The kernel at fixed seeds: kept elements x * float32(1 / (1 - rate)), the rest 0. No r:
    the differentiable function draws its kernel seed from the context's generator."""
    for label, shape, rate, seed in [("half", (4, 6), 0.5, 7), ("quarter", (3, 5, 4), 0.25, 12345)]:
        x = rng.uniform(shape, -2, 2)
        scale = float(np.float32(1.0 / (1.0 - rate)))
        keep = np.array([dropout_keep(seed, i, rate) for i in range(x.size)]).reshape(shape)
        out = np.where(keep, f32(x * scale), 0.0)
        yield Case("dropout", label, {"rate": rate, "seed": seed}).add("in0", x).add("out", out)


def all_cases():
    rng = Rng(20240601)
    for gen in (map_cases, zip_cases, reduce_cases, matmul_cases, conv1d_cases, conv2d_cases,
                pool_cases, along_dim_cases, dropout_cases):
        yield from gen(rng)


# ------------------------------------------------------------------------------- whole models
def mnist_forward_backward(x, y, W):
    """MiniTorch's MNIST network (tools/train/mnist_model.c), dropout off: the mean NLL and the
    gradient of every parameter. W: conv1.weight (4,1,3,3), conv1.bias (4,1,1), conv2.weight
    (8,4,3,3), conv2.bias (8,1,1), fc1.weight (392,64), fc1.bias (64,), fc2.weight (64,10),
    fc2.bias (10,)."""
    w1, b1, w2, b2, w3, b3, w4, b4 = W
    B, _, H, Wd = x.shape
    zero = lambda c: np.zeros((B, c, H, Wd))
    a1 = conv2d(x, w1, zero(4), (1, 1), (0, 0), False, (H, Wd))[0] + b1  # (B,4,H,W)
    h1 = relu(a1)
    a2 = conv2d(h1, w2, zero(8), (1, 1), (0, 0), False, (H, Wd))[0] + b2  # (B,8,H,W)
    h2 = relu(a2)
    pooled = windows(h2, 4, 4).mean(axis=4)  # (B,8,H/4,W/4)
    f = pooled.reshape(B, -1)  # (B,392)
    a3 = f @ w3 + b3  # (B,64)
    h3 = relu(a3)
    z = h3 @ w4 + b4  # (B,10)
    logp = logsoftmax(z, 1)
    onehot = np.zeros_like(z)
    onehot[np.arange(B), y.astype(int)] = 1.0
    loss = -(logp * onehot).sum() / B
    dz = (softmax(z, 1) - onehot) / B
    g4, gb4 = h3.T @ dz, dz.sum(axis=0)
    da3 = (dz @ w4.T) * (a3 > 0)
    g3, gb3 = f.T @ da3, da3.sum(axis=0)
    dp = (da3 @ w3.T).reshape(pooled.shape)
    dh2 = untile(np.broadcast_to(dp[..., None] / 16.0, pooled.shape + (16,)), 4, 4)
    da2 = dh2 * (a2 > 0)
    _, dh1, g2 = conv2d(h1, w2, da2, (1, 1), (0, 0), False, (H, Wd))
    gb2 = da2.sum(axis=(0, 2, 3)).reshape(b2.shape)
    da1 = dh1 * (a1 > 0)
    _, _, g1 = conv2d(x, w1, da1, (1, 1), (0, 0), False, (H, Wd))
    gb1 = da1.sum(axis=(0, 2, 3)).reshape(b1.shape)
    return loss, [g1, gb1, g2, gb2, g3, gb3, g4, gb4]


def model_cases():
    """Three plain-SGD steps of the MNIST network, then of the sentiment CNN, each on one fixed
    batch from fixed weights, as llm.c checks its first training steps: the losses and the
    weights after the last step. Parameters travel flattened in the model's order (shapes in the
    *_forward_backward docstrings)."""
    rng = Rng(20240615)
    B, lr, steps = 4, 0.05, 3
    x = rng.uniform((B, 1, 28, 28), 0, 1)
    y = rng.ints((B,), 0, 9)
    shapes = [((4, 1, 3, 3), 9), ((4, 1, 1), 9), ((8, 4, 3, 3), 36), ((8, 1, 1), 36),
              ((392, 64), 392), ((64,), 392), ((64, 10), 64), ((10,), 64)]
    # PyTorch's default initialisation, as the trainer's: uniform +-1/sqrt(fan_in)
    W = [rng.uniform(shape, -1 / math.sqrt(fan), 1 / math.sqrt(fan)) for shape, fan in shapes]
    flat0 = np.concatenate([w.ravel() for w in W])
    losses, flat = sgd_steps(mnist_forward_backward, x, y, W, lr, steps)
    yield Case("mnist_train", "sgd3", {"batch": B, "lr": lr, "steps": steps}) \
        .add("x", x).add("labels", y).add("params0", flat0).add("losses", losses) \
        .add("params", flat)
    yield sentiment_case()


def sentiment_forward_backward(x, y, W):
    """MiniTorch's sentiment CNN (tools/train/sentiment_model.c), dropout off: the mean BCE and
    the gradient of every parameter. x (B,D,L) word vectors, zero past each sentence's end;
    W: conv3.weight (F,D,3), conv3.bias (F,1), conv4.weight (F,D,4), conv4.bias (F,1),
    conv5.weight (F,D,5), conv5.bias (F,1), fc.weight (F,1), fc.bias (1,)."""
    B, _, L = x.shape
    convs = [(W[2 * k], W[2 * k + 1]) for k in range(3)]
    wfc, bfc = W[6], W[7]
    saved, total = [], 0.0
    for w, b in convs:
        a = conv1d(x, w, np.zeros((B, w.shape[0], L)), 1, 0, False, L)[0] + b  # (B,F,L)
        h = relu(a)
        # float32 must take the same branches: no pre-activation at the relu kink and no
        # near-tie for the max over time (exact ties, as zero padding makes, go to the first in
        # both), or the engine's gradient may route elsewhere than this one
        assert np.min(np.abs(a)) > 1e-5, np.min(np.abs(a))
        top = np.sort(h, axis=2)
        gap = top[:, :, -1] - top[:, :, -2]
        assert np.all((gap == 0) | (gap > 1e-4)), gap
        mask = first_max_mask(h, 2)
        total = total + (h * mask).sum(axis=2)  # (B,F): the three maps summed
        saved.append((a, mask))
    z = total @ wfc + bfc  # (B,1)
    prob = sigmoid(z)[:, 0]  # (B,)
    assert np.all((prob > 1e-6) & (prob < 1 - 1e-6)), prob  # the engine's clamp stays inactive
    loss = -np.mean(y * np.log(prob) + (1 - y) * np.log(1 - prob))
    dz = ((prob - y) / B)[:, None]  # (B,1)
    grads = [None] * 8
    grads[6], grads[7] = total.T @ dz, dz.sum(axis=0)
    dtotal = dz @ wfc.T  # (B,F)
    for k, ((w, b), (a, mask)) in enumerate(zip(convs, saved)):
        da = mask * dtotal[:, :, None] * (a > 0)
        grads[2 * k] = conv1d(x, w, da, 1, 0, False, L)[2]
        grads[2 * k + 1] = da.sum(axis=(0, 2)).reshape(b.shape)
    return loss, grads


def sgd_steps(forward_backward, x, y, W, lr, steps):
    """Plain SGD on one batch: the losses and the weights after the last step."""
    losses = []
    for _ in range(steps):
        loss, grads = forward_backward(x, y, W)
        losses.append(loss)
        W = [w - lr * g for w, g in zip(W, grads)]
    return np.array(losses), np.concatenate([w.ravel() for w in W])


def sentiment_case():
    """Three plain-SGD steps of the sentiment CNN (4 filters per width instead of 100, 8-d
    vectors instead of 100, sentences of 7, 5 and 4 words padded to 7: the file stays small and
    the zero padding is exercised)."""
    rng = Rng(20240616)
    B, D, L, F, lr, steps = 3, 8, 7, 4, 0.1, 3
    x = rng.uniform((B, D, L), -0.5, 0.5)
    for i, n in enumerate([7, 5, 4]):
        x[i, :, n:] = 0.0  # padding positions hold zero vectors, as the trainer packs them
    y = np.array([1.0, 0.0, 1.0])
    shapes = []
    for k in (3, 4, 5):
        shapes += [((F, D, k), D * k), ((F, 1), D * k)]
    shapes += [((F, 1), F), ((1,), F)]
    W = [rng.uniform(shape, -1 / math.sqrt(fan), 1 / math.sqrt(fan)) for shape, fan in shapes]
    flat0 = np.concatenate([w.ravel() for w in W])
    losses, flat = sgd_steps(sentiment_forward_backward, x, y, W, lr, steps)
    return Case("sst2_train", "sgd3", {"batch": B, "filters": F, "lr": lr, "steps": steps}) \
        .add("x", x).add("labels", y).add("params0", flat0).add("losses", losses) \
        .add("params", flat)


# ------------------------------------------------------------------------------- file format
def fnv1a64(data):
    h = 0xCBF29CE484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) & ((1 << 64) - 1)
    return h


def encode(case):
    def text(s):
        b = s.encode("ascii")
        return struct.pack("<H", len(b)) + b

    out = bytearray(MAGIC + struct.pack("<H", VERSION))
    out += text(case.op) + text(params_text(case.params))
    out += struct.pack("<I", len(case.arrays))
    for name, arr in case.arrays:
        out += text(name) + struct.pack("<I", arr.ndim)
        out += struct.pack("<%dq" % arr.ndim, *arr.shape)
        out += arr.astype("<f8").tobytes()
    out += struct.pack("<Q", fnv1a64(bytes(out)))
    return bytes(out)


def decode(data, path):
    """Parses a file written by encode(); raises ValueError saying what is wrong."""
    def need(n):
        if pos[0] + n > len(data):
            raise ValueError("%s: truncated at byte %d" % (path, pos[0]))
        chunk = data[pos[0]:pos[0] + n]
        pos[0] += n
        return chunk

    def text():
        (n,) = struct.unpack("<H", need(2))
        return need(n).decode("ascii")

    pos = [0]
    if need(6) != MAGIC:
        raise ValueError("%s: not a golden file (bad magic)" % path)
    (version,) = struct.unpack("<H", need(2))
    if version != VERSION:
        raise ValueError("%s: version %d, expected %d" % (path, version, VERSION))
    op, params = text(), text()
    (narrays,) = struct.unpack("<I", need(4))
    arrays = []
    for _ in range(narrays):
        name = text()
        (ndim,) = struct.unpack("<I", need(4))
        shape = struct.unpack("<%dq" % ndim, need(8 * ndim))
        n = int(np.prod(shape)) if ndim else 1
        arrays.append((name, np.frombuffer(need(8 * n), dtype="<f8").reshape(shape)))
    (checksum,) = struct.unpack("<Q", need(8))
    if checksum != fnv1a64(data[:pos[0] - 8]):
        raise ValueError("%s: checksum mismatch (the file is corrupt)" % path)
    return op, params, arrays


def write_all(out_dir, cases=None):
    self_check_conv()
    cases = all_cases if cases is None else cases
    os.makedirs(out_dir, exist_ok=True)
    for name in os.listdir(out_dir):  # a renamed case must not leave its old file behind
        if name.endswith(".mtgold"):
            os.remove(os.path.join(out_dir, name))
    counts, total = {}, 0
    for case in cases():
        counts[case.op] = counts.get(case.op, 0) + 1
        fname = "%s_%02d_%s.mtgold" % (case.op, counts[case.op], case.label)
        data = encode(case)
        total += len(data)
        with open(os.path.join(out_dir, fname), "wb") as f:
            f.write(data)
    if total > MAX_TOTAL_BYTES:
        raise SystemExit("gen.py: the cases take %d bytes, more than the %d budget; shrink them"
                         % (total, MAX_TOTAL_BYTES))
    return sum(counts.values()), total


def same_values(a, b):
    """Equal up to 1e-12 relative: libm/NumPy builds may differ in the last bit of exp/log."""
    if a.shape != b.shape:
        return False
    if not np.array_equal(np.isnan(a), np.isnan(b)):
        return False
    ok = ~np.isnan(a)
    a, b = a[ok], b[ok]
    inf = np.isinf(a) | np.isinf(b)
    if not np.array_equal(a[inf], b[inf]):
        return False
    return bool(np.all(np.abs(a[~inf] - b[~inf]) <= 1e-12 * np.maximum(np.abs(b[~inf]), 1e-300)))


def check(committed_dir, cases=None):
    tmp = tempfile.mkdtemp(prefix="mtgold-")
    try:
        n, _ = write_all(tmp, cases)
        fresh = sorted(f for f in os.listdir(tmp) if f.endswith(".mtgold"))
        have = sorted(f for f in os.listdir(committed_dir) if f.endswith(".mtgold")) \
            if os.path.isdir(committed_dir) else []
        problems = ["missing from %s: %s" % (committed_dir, f) for f in fresh if f not in have]
        problems += ["stale (gen.py no longer makes it): %s" % f for f in have if f not in fresh]
        for f in fresh:
            if f not in have:
                continue
            with open(os.path.join(tmp, f), "rb") as fh:
                want = fh.read()
            with open(os.path.join(committed_dir, f), "rb") as fh:
                got = fh.read()
            if want == got:
                continue
            try:
                op_a, par_a, arr_a = decode(got, f)
            except ValueError as e:
                problems.append(str(e))
                continue
            op_b, par_b, arr_b = decode(want, f)
            if (op_a, par_a) != (op_b, par_b):
                problems.append("%s: header differs: committed (%s | %s), generated (%s | %s)"
                                % (f, op_a, par_a, op_b, par_b))
            elif [a[0] for a in arr_a] != [b[0] for b in arr_b]:
                problems.append("%s: arrays differ: committed %s, generated %s"
                                % (f, [a[0] for a in arr_a], [b[0] for b in arr_b]))
            else:
                for (name, a), (_, b) in zip(arr_a, arr_b):
                    if not same_values(a, b):
                        problems.append("%s: array %s differs" % (f, name))
        if problems:
            for p in problems:
                print("golden --check: " + p)
            print("golden --check: FAIL: %d problem(s); the committed cases do not match gen.py"
                  % len(problems))
            print(REGEN_HINT)
            return 1
        print("golden --check: OK: %d files in %s match gen.py" % (n, committed_dir))
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT, help="directory for the .mtgold files "
                    "(default: golden/cases next to this script)")
    ap.add_argument("--models-out", default=MODELS_OUT, help="directory for the whole-model "
                    ".mtgold files (default: golden/models next to this script)")
    ap.add_argument("--check", action="store_true", help="regenerate into a temp dir and fail "
                    "if any file in --out differs")
    args = ap.parse_args()
    if np is None:
        msg = ("golden/gen.py: NumPy is not installed for %s (apt install python3-numpy, "
               "or run /usr/bin/python3 golden/gen.py)" % sys.executable)
        if args.check:
            print("SKIP: " + msg)
            return SKIP_EXIT
        print("error: " + msg, file=sys.stderr)
        return 1
    if args.check:
        return check(args.out) or check(args.models_out, model_cases)
    n, total = write_all(args.out)
    print("gen.py: wrote %d golden cases (%d bytes) to %s" % (n, total, args.out))
    n, total = write_all(args.models_out, model_cases)
    print("gen.py: wrote %d whole-model cases (%d bytes) to %s" % (n, total, args.models_out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
