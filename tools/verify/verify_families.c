/* Op families: how a random case (sizes and choices) becomes a kernel call, for every op of a
 * family (maps, zips, reductions, matmul, convolutions, pooling, ...). Also the size caps, and
 * the params text shared with the golden files. */
#include "verify_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ sizes */
/* Sizes that hit the edges: 1 (broadcast), 2 and 3 (below any tile), 17 and 33 (one past a
 * power of two, so a tiled kernel has a ragged tail), 133 (several tiles plus a tail). */
static const int64_t SIZES[] = {1, 2, 3, 17, 33, 133};
static const int64_t KERNEL_SIZES[] = {1, 2, 3, 4, 5, 7};
static const int64_t POOL_SIZES[] = {1, 2, 3, 4};
#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

static int randint(mt_rng *r, int n) { return (int)(mt_rng_next(r) % (uint64_t)n); }
static bool one_in(mt_rng *r, int n) { return randint(r, n) == 0; }
static int64_t pick(mt_rng *r, const int64_t *list, int n) { return list[randint(r, n)]; }

int64_t vf_numel(int ndim, const int64_t *shape) {
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) n *= shape[d];
    return n;
}

static void set_shape(int *ndim, int64_t *shape, int n, const int64_t *dims) {
    *ndim = n;
    memcpy(shape, dims, sizeof(int64_t) * (size_t)n);
}

/* ------------------------------------------------------------------ elementwise families */
/* choice[0] = ndim - 1; size[0..3] = the output's dims. */
static void draw_shape(vf_case *c, mt_rng *rng) {
    c->choice[0] = randint(rng, 4);
    for (int d = 0; d <= c->choice[0]; d++) c->size[d] = pick(rng, SIZES, COUNT(SIZES));
}

/* An operand of a broadcast: the out shape without `lead` leading dims, and size 1 where `mask`
 * has a bit (bit d refers to out dim d). */
static void operand_shape(const int64_t *out, int ndim, int mask, int lead, int *nd,
                          int64_t *shape) {
    if (lead > ndim - 1) lead = ndim - 1;
    *nd = ndim - lead;
    for (int d = 0; d < *nd; d++) shape[d] = ((mask >> (d + lead)) & 1) ? 1 : out[d + lead];
}

static bool same_shape(int na, const int64_t *a, int nb, const int64_t *b) {
    return na == nb && memcmp(a, b, sizeof(int64_t) * (size_t)na) == 0;
}

/* map: choice[1] = dims where the input is 1 (broadcast to out), choice[2] = leading dims it
 * lacks, choice[3] = in place. */
static void map_draw(vf_case *c, mt_rng *rng) {
    draw_shape(c, rng);
    c->choice[1] = one_in(rng, 3) ? randint(rng, 16) : 0;
    c->choice[2] = one_in(rng, 4) ? randint(rng, 4) : 0;
    c->choice[3] = one_in(rng, 4);
}

static bool map_build(const vf_op *op, const vf_case *c, vf_problem *p) {
    (void)op;
    int nd = c->choice[0] + 1;
    p->nin = 1;
    set_shape(&p->out_ndim, p->out_shape, nd, c->size);
    operand_shape(c->size, nd, c->choice[1], c->choice[2], &p->ndim[0], p->shape[0]);
    p->in_place = c->choice[3] && c->layout[0] != VF_L_EXPANDED &&
                  same_shape(p->ndim[0], p->shape[0], p->out_ndim, p->out_shape);
    p->work = vf_numel(nd, c->size);
    return true;
}

/* zip: choice[1], choice[2] = masks of a and b; choice[3], choice[4] = leading dims they lack;
 * choice[5] = in place (out is a). */
static void zip_draw(vf_case *c, mt_rng *rng) {
    draw_shape(c, rng);
    c->choice[1] = one_in(rng, 2) ? randint(rng, 16) : 0;
    c->choice[2] = one_in(rng, 2) ? randint(rng, 16) : 0;
    c->choice[3] = one_in(rng, 4) ? randint(rng, 4) : 0;
    c->choice[4] = one_in(rng, 4) ? randint(rng, 4) : 0;
    c->choice[5] = one_in(rng, 4);
}

static bool zip_build(const vf_op *op, const vf_case *c, vf_problem *p) {
    (void)op;
    int nd = c->choice[0] + 1;
    p->nin = 2;
    operand_shape(c->size, nd, c->choice[1], c->choice[3], &p->ndim[0], p->shape[0]);
    operand_shape(c->size, nd, c->choice[2], c->choice[4], &p->ndim[1], p->shape[1]);
    if (mt_shape_broadcast(p->ndim[0], p->shape[0], p->ndim[1], p->shape[1], &p->out_ndim,
                           p->out_shape) != MT_OK)
        return false;
    p->in_place = c->choice[5] && c->layout[0] != VF_L_EXPANDED &&
                  same_shape(p->ndim[0], p->shape[0], p->out_ndim, p->out_shape);
    p->work = vf_numel(p->out_ndim, p->out_shape);
    return true;
}

/* One input, one dim: reductions (role 0: out has that dim as 1), ops along a dim (role 1: out
 * has the input's shape) and dropout (role 2). choice[1] = dim, choice[2] = dropout rate. */
static const float DROPOUT_RATES[] = {0.1f, 0.25f, 0.5f, 0.9f};

static void dim_draw(vf_case *c, mt_rng *rng) {
    draw_shape(c, rng);
    c->choice[1] = randint(rng, c->choice[0] + 1);
    c->choice[2] = randint(rng, COUNT(DROPOUT_RATES));
}

static bool dim_build(const vf_op *op, const vf_case *c, vf_problem *p) {
    int nd = c->choice[0] + 1;
    if (c->choice[1] >= nd) return false;
    p->nin = 1;
    set_shape(&p->ndim[0], p->shape[0], nd, c->size);
    set_shape(&p->out_ndim, p->out_shape, nd, c->size);
    p->params.dim = c->choice[1];
    if (op->role == 0) p->out_shape[p->params.dim] = 1;
    if (op->role == 2) {
        p->params.rate = DROPOUT_RATES[c->choice[2]];
        p->params.seed = c->seed ^ 0xd50bu;
    }
    p->work = vf_numel(nd, c->size);
    return true;
}

/* ------------------------------------------------------------------ matmul */
/* size: M, K, N, then two batch sizes. choice[1] = batch dims of out (0-2), choice[2] and
 * choice[3] = leading batch dims a and b lack, choice[4] and choice[5] = batch dims where a and b
 * have size 1 (broadcast). */
static void matmul_draw(vf_case *c, mt_rng *rng) {
    for (int i = 0; i < 5; i++) c->size[i] = pick(rng, SIZES, COUNT(SIZES));
    c->choice[1] = randint(rng, 3);
    c->choice[2] = one_in(rng, 3) ? randint(rng, 3) : 0;
    c->choice[3] = one_in(rng, 3) ? randint(rng, 3) : 0;
    c->choice[4] = one_in(rng, 3) ? randint(rng, 4) : 0;
    c->choice[5] = one_in(rng, 3) ? randint(rng, 4) : 0;
}

static void batch_operand(const vf_case *c, int nb, int lead, int mask, int64_t rows, int64_t cols,
                          int *nd, int64_t *shape) {
    if (lead > nb) lead = nb;
    *nd = nb - lead + 2;
    for (int d = lead; d < nb; d++) shape[d - lead] = ((mask >> d) & 1) ? 1 : c->size[3 + d];
    shape[*nd - 2] = rows;
    shape[*nd - 1] = cols;
}

static bool matmul_build(const vf_op *op, const vf_case *c, vf_problem *p) {
    (void)op;
    int64_t M = c->size[0], K = c->size[1], N = c->size[2];
    int nb = c->choice[1];
    p->nin = 2;
    batch_operand(c, nb, c->choice[2], c->choice[4], M, K, &p->ndim[0], p->shape[0]);
    batch_operand(c, nb, c->choice[3], c->choice[5], K, N, &p->ndim[1], p->shape[1]);
    int nbo;
    if (mt_shape_broadcast(p->ndim[0] - 2, p->shape[0], p->ndim[1] - 2, p->shape[1], &nbo,
                           p->out_shape) != MT_OK)
        return false;
    p->out_ndim = nbo + 2;
    p->out_shape[nbo] = M;
    p->out_shape[nbo + 1] = N;
    p->work = vf_numel(p->out_ndim, p->out_shape) * K;
    return true;
}

/* ------------------------------------------------------------------ convolutions */
/* Role 0: forward (in, w) -> out; role 1: d input (grad_out, w) -> grad_in; role 2: d weight
 * (in, grad_out) -> grad_w. choice[0] = form: 0 MiniTorch, 1 MiniTorch reversed, 2 PyTorch
 * stride/pad; then strides - 1 and pads per spatial axis. */
static int conv_out_len(int64_t n, int64_t k, int form, int stride, int pad, int64_t *out) {
    if (form < 2) {
        *out = n;
        return 1;
    }
    if (n + 2 * pad < k) return 0;
    *out = (n + 2 * pad - k) / stride + 1;
    return 1;
}

/* Kernel params as the conv dispatcher fills them (stride >= 1 and pad on the used axes, 0 on
 * conv1d's unused axis 1) and the same convolution as mt_conv_opts (all zero: MiniTorch's form). */
static void conv_set_params(vf_problem *p, int form, int axes, const int *stride, const int *pad) {
    for (int a = 0; a < 2; a++) {
        bool used = a < axes, pytorch = form == 2;
        p->params.stride[a] = used ? (pytorch ? stride[a] : 1) : 0;
        p->params.pad[a] = used && pytorch ? pad[a] : 0;
        p->conv.stride[a] = used && pytorch ? stride[a] : 0;
        p->conv.pad[a] = used && pytorch ? pad[a] : 0;
    }
    p->params.reverse = form == 1;
    p->conv.reverse = form == 1;
    p->conv.pytorch_style = form == 2;
}

/* Shapes of the three tensors of one convolution, assigned to src/out by role. */
static void conv_assign(const vf_op *op, vf_problem *p, int nd, const int64_t *in, const int64_t *w,
                        const int64_t *out) {
    const int64_t *src0 = op->role == 1 ? out : in;
    const int64_t *src1 = op->role == 2 ? out : w;
    const int64_t *dst = op->role == 0 ? out : op->role == 1 ? in : w;
    p->nin = 2;
    set_shape(&p->ndim[0], p->shape[0], nd, src0);
    set_shape(&p->ndim[1], p->shape[1], nd, src1);
    set_shape(&p->out_ndim, p->out_shape, nd, dst);
}

/* size: B, Cin, Cout, W, K. */
static void conv1d_draw(vf_case *c, mt_rng *rng) {
    for (int i = 0; i < 4; i++) c->size[i] = pick(rng, SIZES, COUNT(SIZES));
    c->size[4] = pick(rng, KERNEL_SIZES, COUNT(KERNEL_SIZES));
    c->choice[0] = randint(rng, 3);
    c->choice[1] = randint(rng, 3);
    c->choice[2] = randint(rng, 4);
}

static bool conv1d_build(const vf_op *op, const vf_case *c, vf_problem *p) {
    int64_t B = c->size[0], Cin = c->size[1], Cout = c->size[2], W = c->size[3], K = c->size[4];
    int form = c->choice[0], stride[2] = {c->choice[1] + 1, 1}, pad[2] = {c->choice[2], 0};
    int64_t Wo;
    if (!conv_out_len(W, K, form, stride[0], pad[0], &Wo)) return false;
    conv_set_params(p, form, 1, stride, pad);
    conv_assign(op, p, 3, (int64_t[]){B, Cin, W}, (int64_t[]){Cout, Cin, K},
                (int64_t[]){B, Cout, Wo});
    p->work = B * Cout * Wo * Cin * K;
    return true;
}

/* size: B, Cin, Cout, H, W, KH, KW. */
static void conv2d_draw(vf_case *c, mt_rng *rng) {
    for (int i = 0; i < 5; i++) c->size[i] = pick(rng, SIZES, COUNT(SIZES));
    for (int i = 5; i < 7; i++) c->size[i] = pick(rng, KERNEL_SIZES, COUNT(KERNEL_SIZES));
    c->choice[0] = randint(rng, 3);
    for (int i = 1; i < 3; i++) c->choice[i] = randint(rng, 3);
    for (int i = 3; i < 5; i++) c->choice[i] = randint(rng, 3);
}

static bool conv2d_build(const vf_op *op, const vf_case *c, vf_problem *p) {
    int64_t B = c->size[0], Cin = c->size[1], Cout = c->size[2], H = c->size[3], W = c->size[4];
    int64_t KH = c->size[5], KW = c->size[6];
    int form = c->choice[0];
    int stride[2] = {c->choice[1] + 1, c->choice[2] + 1}, pad[2] = {c->choice[3], c->choice[4]};
    int64_t Ho, Wo;
    if (!conv_out_len(H, KH, form, stride[0], pad[0], &Ho) ||
        !conv_out_len(W, KW, form, stride[1], pad[1], &Wo))
        return false;
    conv_set_params(p, form, 2, stride, pad);
    conv_assign(op, p, 4, (int64_t[]){B, Cin, H, W}, (int64_t[]){Cout, Cin, KH, KW},
                (int64_t[]){B, Cout, Ho, Wo});
    p->work = B * Cout * Ho * Wo * Cin * KH * KW;
    return true;
}

/* ------------------------------------------------------------------ pooling */
/* size: B, C, Ho, Wo, kh, kw (the input is Ho*kh x Wo*kw). Role 0: forward; role 1: avgpool's
 * backward (grad_out) -> grad_in; role 2: maxpool's backward (in, grad_out) -> grad_in. */
static void pool_draw(vf_case *c, mt_rng *rng) {
    for (int i = 0; i < 4; i++) c->size[i] = pick(rng, SIZES, COUNT(SIZES));
    for (int i = 4; i < 6; i++) c->size[i] = pick(rng, POOL_SIZES, COUNT(POOL_SIZES));
}

static bool pool_build(const vf_op *op, const vf_case *c, vf_problem *p) {
    int64_t B = c->size[0], C = c->size[1], Ho = c->size[2], Wo = c->size[3];
    int64_t kh = c->size[4], kw = c->size[5];
    int64_t in[4] = {B, C, Ho * kh, Wo * kw}, out[4] = {B, C, Ho, Wo};
    p->params.kernel[0] = (int)kh;
    p->params.kernel[1] = (int)kw;
    if (op->role == 0) {
        p->nin = 1;
        set_shape(&p->ndim[0], p->shape[0], 4, in);
        set_shape(&p->out_ndim, p->out_shape, 4, out);
    } else {
        p->nin = op->role == 1 ? 1 : 2;
        set_shape(&p->ndim[0], p->shape[0], 4, op->role == 1 ? out : in);
        if (op->role == 2) set_shape(&p->ndim[1], p->shape[1], 4, out);
        set_shape(&p->out_ndim, p->out_shape, 4, in);
    }
    p->work = vf_numel(4, in);
    return true;
}

/* ------------------------------------------------------------------ consistency */
/* Whether a kernel call read from a golden file has shapes its kernel can take (the dispatcher's
 * checks, which the verifier bypasses by calling kernels directly). */
static bool eq_shape(const vf_problem *p, int i, int nd, const int64_t *shape) {
    return same_shape(p->ndim[i], p->shape[i], nd, shape);
}

static bool map_valid(const vf_op *op, const vf_problem *p) {
    (void)op;
    int n;
    int64_t s[MT_MAX_DIMS];
    if (p->nin < 1) return false;
    for (int i = 0; i < p->nin; i++)
        if (mt_shape_broadcast(p->ndim[i], p->shape[i], p->out_ndim, p->out_shape, &n, s) !=
                MT_OK ||
            !same_shape(n, s, p->out_ndim, p->out_shape))
            return false;
    return true;
}

static bool dim_valid(const vf_op *op, const vf_problem *p) {
    if (p->nin != 1 || p->params.dim >= p->ndim[0]) return false;
    int64_t s[MT_MAX_DIMS];
    memcpy(s, p->shape[0], sizeof s);
    if (op->role == 0) s[p->params.dim] = 1;
    return same_shape(p->out_ndim, p->out_shape, p->ndim[0], s);
}

static bool matmul_valid(const vf_op *op, const vf_problem *p) {
    (void)op;
    if (p->nin != 2 || p->ndim[0] < 2 || p->ndim[1] < 2 || p->out_ndim < 2) return false;
    int na = p->ndim[0], nb = p->ndim[1], n;
    int64_t s[MT_MAX_DIMS];
    if (p->shape[0][na - 1] != p->shape[1][nb - 2] ||
        mt_shape_broadcast(na - 2, p->shape[0], nb - 2, p->shape[1], &n, s) != MT_OK)
        return false;
    s[n] = p->shape[0][na - 2];
    s[n + 1] = p->shape[1][nb - 1];
    return same_shape(p->out_ndim, p->out_shape, n + 2, s);
}

/* The three shapes of a convolution, whichever role: in (B,Cin,...), w (Cout,Cin,...),
 * out (B,Cout,...) with out's spatial sizes from the params. */
static bool conv_valid(const vf_op *op, const vf_problem *p) {
    int nd = op->family == &VF_FAMILY_CONV1D ? 3 : 4;
    if (p->nin != 2 || p->ndim[0] != nd || p->ndim[1] != nd || p->out_ndim != nd) return false;
    const int64_t *in = op->role == 1 ? p->out_shape : p->shape[0];
    const int64_t *w = op->role == 2 ? p->out_shape : p->shape[1];
    const int64_t *out = op->role == 0 ? p->out_shape : op->role == 1 ? p->shape[0] : p->shape[1];
    if (in[0] != out[0] || in[1] != w[1] || w[0] != out[1]) return false;
    for (int a = 0; a < nd - 2; a++) {
        int64_t len;
        int form = p->conv.pytorch_style ? 2 : p->params.reverse ? 1 : 0;
        if (p->params.stride[a] < 1 ||
            !conv_out_len(in[2 + a], w[2 + a], form, p->params.stride[a], p->params.pad[a], &len) ||
            len != out[2 + a])
            return false;
    }
    return true;
}

static bool pool_valid(const vf_op *op, const vf_problem *p) {
    const int64_t *in = op->role == 1 ? p->out_shape : p->shape[0];
    const int64_t *out = op->role == 0 ? p->out_shape : p->shape[op->role == 1 ? 0 : 1];
    int kh = p->params.kernel[0], kw = p->params.kernel[1];
    if (p->nin != (op->role == 2 ? 2 : 1) || kh < 1 || kw < 1) return false;
    for (int i = 0; i < p->nin; i++)
        if (p->ndim[i] != 4) return false;
    if (p->out_ndim != 4 || (op->role == 2 && !eq_shape(p, 0, 4, p->out_shape))) return false;
    return in[0] == out[0] && in[1] == out[1] && in[2] == out[2] * kh && in[3] == out[3] * kw;
}

const vf_family VF_FAMILY_MAP = {"map", VF_P_NONE, true, map_draw, map_build, map_valid};
const vf_family VF_FAMILY_ZIP = {"zip", VF_P_NONE, true, zip_draw, zip_build, map_valid};
const vf_family VF_FAMILY_REDUCE = {"reduce", VF_P_DIM, false, dim_draw, dim_build, dim_valid};
const vf_family VF_FAMILY_ALONG_DIM = {"along-dim", VF_P_DIM,  false,
                                       dim_draw,    dim_build, dim_valid};
const vf_family VF_FAMILY_DROPOUT = {"dropout", VF_P_DROPOUT, false,
                                     dim_draw,  dim_build,    dim_valid};
const vf_family VF_FAMILY_MATMUL = {"matmul",    VF_P_NONE,    false,
                                    matmul_draw, matmul_build, matmul_valid};
const vf_family VF_FAMILY_CONV1D = {"conv1d",    VF_P_CONV,    false,
                                    conv1d_draw, conv1d_build, conv_valid};
const vf_family VF_FAMILY_CONV2D = {"conv2d",    VF_P_CONV,    false,
                                    conv2d_draw, conv2d_build, conv_valid};
const vf_family VF_FAMILY_POOL = {"pool", VF_P_KERNEL, false, pool_draw, pool_build, pool_valid};

/* ------------------------------------------------------------------ drawing a case */
/* Case sizes: random cases stay small enough that the naive backend runs hundreds per second;
 * gradient cases probe every input element twice, so they are smaller still. */
typedef struct caps {
    int64_t work, in_numel, out_numel;
} caps;
static const caps RANDOM_CAPS = {1 << 17, 1 << 15, 1 << 15};
static const caps GRADIENT_CAPS = {1 << 12, 48, 512};

static bool within(const vf_problem *p, const caps *k) {
    if (p->work > k->work || vf_numel(p->out_ndim, p->out_shape) > k->out_numel) return false;
    for (int i = 0; i < p->nin; i++)
        if (vf_numel(p->ndim[i], p->shape[i]) > k->in_numel) return false;
    return true;
}

int64_t vf_next_smaller_size(int64_t v) {
    int64_t best = 1;
    for (int i = 0; i < COUNT(SIZES); i++)
        if (SIZES[i] < v && SIZES[i] > best) best = SIZES[i];
    return best;
}

/* Steps the largest size down (to the next size in the list) until the case fits. */
static bool fit(const vf_op *op, vf_case *c, vf_problem *p, const caps *k) {
    while (!within(p, k)) {
        bool stepped = false;
        for (int tries = 0; tries < VF_MAX_VARS && !stepped; tries++) {
            int best = -1;
            for (int i = 0; i < VF_MAX_VARS; i++)
                if (c->size[i] > 1 && (best < 0 || c->size[i] > c->size[best])) best = i;
            if (best < 0) return false;
            vf_case trial = *c;
            trial.size[best] = vf_next_smaller_size(c->size[best]);
            vf_problem q;
            memset(&q, 0, sizeof q);
            if (op->family->build(op, &trial, &q)) {
                *c = trial;
                *p = q;
                stepped = true;
            } else {
                c->size[best] =
                    vf_next_smaller_size(c->size[best]); /* invalid at this size: go lower */
            }
        }
        if (!stepped) return false;
    }
    return true;
}

static vf_range pick_range(unsigned mask, mt_rng *rng) {
    int n = 0;
    vf_range options[VF_R_COUNT];
    for (int r = 0; r < VF_R_COUNT; r++)
        if (mask & VF_BIT(r)) options[n++] = (vf_range)r;
    return n ? options[randint(rng, n)] : VF_R_UNIT;
}

bool vf_draw_case(const vf_op *op, uint64_t seed, bool for_gradient, vf_case *c, vf_problem *p) {
    mt_rng rng;
    mt_rng_seed(&rng, seed ^ (for_gradient ? 0x67a4u : 0u));
    for (int attempt = 0; attempt < 100; attempt++) {
        memset(c, 0, sizeof *c);
        memset(p, 0, sizeof *p);
        c->seed = seed;
        for (int i = 0; i < VF_MAX_VARS; i++) c->size[i] = 1;
        op->family->draw(c, &rng);
        c->range = pick_range(for_gradient ? op->grad_ranges : op->ranges, &rng);
        /* gradient leaves are perturbed one element at a time: no stride-0 (shared) storage */
        for (int i = 0; i < VF_MAX_IN; i++) {
            c->layout[i] = randint(&rng, for_gradient ? VF_L_COUNT - 1 : VF_L_COUNT);
            if (for_gradient && c->layout[i] == VF_L_EXPANDED) c->layout[i] = VF_L_CHANNEL;
        }
        c->layout[VF_MAX_IN] = op->family->any_out_layout && !for_gradient && one_in(&rng, 3)
                                   ? VF_L_PERMUTED
                                   : VF_L_CONTIGUOUS;
        if (!op->family->build(op, c, p)) continue;
        if (fit(op, c, p, for_gradient ? &GRADIENT_CAPS : &RANDOM_CAPS)) return true;
    }
    return false;
}

/* ------------------------------------------------------------------ params text */
void vf_params_str(unsigned used, const mt_op_params *p, const mt_conv_opts *conv, char *buf,
                   size_t len) {
    size_t n = 0;
    buf[0] = '\0';
    if ((used & VF_P_DIM) && n < len) n += (size_t)snprintf(buf + n, len - n, "dim=%d", p->dim);
    if ((used & VF_P_CONV) && n < len && p->stride[1] == 0) /* conv1d: one axis */
        n += (size_t)snprintf(buf + n, len - n, "pytorch=%d reverse=%d stride=%d pad=%d",
                              conv->pytorch_style ? 1 : 0, p->reverse, p->stride[0], p->pad[0]);
    else if ((used & VF_P_CONV) && n < len)
        n += (size_t)snprintf(buf + n, len - n, "pytorch=%d reverse=%d stride=%d,%d pad=%d,%d",
                              conv->pytorch_style ? 1 : 0, p->reverse, p->stride[0], p->stride[1],
                              p->pad[0], p->pad[1]);
    if ((used & VF_P_KERNEL) && n < len)
        n += (size_t)snprintf(buf + n, len - n, "kernel=%d,%d", p->kernel[0], p->kernel[1]);
    if ((used & VF_P_DROPOUT) && n < len)
        snprintf(buf + n, len - n, "rate=%g seed=%llu", (double)p->rate,
                 (unsigned long long)p->seed);
}

/* Reads "a,b" into two ints, or "a" with b = 0 (conv1d: axis 1 unused). */
static bool parse_pair(const char *v, int *out) {
    char *end;
    long a = strtol(v, &end, 10), b = 0;
    if (end == v) return false;
    if (*end == ',') {
        const char *s = end + 1;
        b = strtol(s, &end, 10);
        if (end == s) return false;
    }
    if (*end != '\0' || a < 0 || b < 0 || a > 1 << 20 || b > 1 << 20) return false;
    out[0] = (int)a;
    out[1] = (int)b;
    return true;
}

bool vf_params_parse(const char *text, mt_op_params *p, mt_conv_opts *conv, char *err, size_t len) {
    memset(p, 0, sizeof *p);
    memset(conv, 0, sizeof *conv);
    p->stride[0] = p->stride[1] = 1;
    p->kernel[0] = p->kernel[1] = 1;
    int pytorch = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", text);
    for (char *save = NULL, *tok = strtok_r(buf, " ", &save); tok;
         tok = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq) {
            snprintf(err, len, "params: '%s' is not key=value", tok);
            return false;
        }
        *eq = '\0';
        const char *k = tok, *v = eq + 1;
        int pair[2];
        char *end;
        bool ok = true;
        if (strcmp(k, "dim") == 0) {
            p->dim = (int)strtol(v, &end, 10);
            ok = *end == '\0' && end != v && p->dim >= 0;
        } else if (strcmp(k, "pytorch") == 0 || strcmp(k, "reverse") == 0) {
            long b = strtol(v, &end, 10);
            ok = *end == '\0' && end != v && (b == 0 || b == 1);
            if (k[0] == 'p')
                pytorch = (int)b;
            else
                p->reverse = (int)b;
        } else if (strcmp(k, "stride") == 0 || strcmp(k, "pad") == 0 || strcmp(k, "kernel") == 0) {
            ok = parse_pair(v, pair);
            int *dst = k[0] == 's' ? p->stride : k[0] == 'p' ? p->pad : p->kernel;
            if (ok) memcpy(dst, pair, sizeof pair);
            if (ok && k[0] == 's') ok = pair[0] >= 1 && (pair[1] >= 1 || !strchr(v, ','));
            if (ok && k[0] == 'k') ok = pair[0] >= 1 && pair[1] >= 1;
        } else if (strcmp(k, "rate") == 0) {
            p->rate = strtof(v, &end);
            ok = *end == '\0' && end != v && p->rate >= 0 && p->rate <= 1;
        } else if (strcmp(k, "seed") == 0) {
            p->seed = strtoull(v, &end, 10);
            ok = *end == '\0' && end != v;
        } else {
            snprintf(err, len, "params: unknown key '%s'", k);
            return false;
        }
        if (!ok) {
            snprintf(err, len, "params: bad value '%s' for %s", v, k);
            return false;
        }
    }
    conv->pytorch_style = pytorch != 0;
    conv->reverse = p->reverse != 0;
    for (int a = 0; a < 2 && pytorch; a++) { /* MiniTorch's form is all zero */
        conv->stride[a] = p->stride[a];
        conv->pad[a] = p->pad[a];
    }
    return true;
}
