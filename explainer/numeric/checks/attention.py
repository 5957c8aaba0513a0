"""Attention: dot products, scores, softmax, scaled dot-product attention, masks, multi-head attention
and permutation equivariance, each closed form against PyTorch's own modules and kernels.

The closed forms are written out entry by entry, so they are evaluated on a slice: one batch item, one
head, the first n ≤ 4 queries (softmax: 8). With a causal mask the first n outputs depend only on the first n keys,
so the slice of the real run is exact. Each check's name says which slice it used.
"""
from __future__ import annotations

import copy
import math
from dataclasses import replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from explainer.numeric import compare
from explainer.numeric.checks.backends import BACKENDS, dtypes_for, run_backend
from explainer.numeric.checks.base import Context, additive, batched, causal_additive, check
from explainer.numeric.compare import ASSERT_CLOSE, FINDING, SDPA_DEFAULTS, Result, closed_form, to_numpy
from explainer.numeric.model import SDPAAttention

SDPA, MASKS, MHA = "scaled-dot-product-attention", "attention-masks", "multi-head-attention"


def head_slice(ctx: Context, attention: str = "mha", n: int | None = None, item: int = 0, head: int = 0):
    """Q, K, V (n, d_k) of block 0, one item and head, first n positions of the real run."""
    n = n or ctx.head_rows
    t = ctx.run(attention).tensors
    return tuple(t[f"0.attn.{name}"][item, head, :n] for name in ("q", "k", "v"))


def _name(t: torch.dtype) -> str:
    return str(t).removeprefix("torch.")


# --- dot products, scores, softmax ----------------------------------------------------------------
@check("dot-product")
def check_dot_product(ctx: Context) -> list[Result]:
    """q·k for every pair of the slice vs the scores torch.matmul computed in the run."""
    q, k, _ = head_slice(ctx)
    n, d_k = q.shape
    dot = closed_form("dot-product", "dot", d=d_k)
    pairs_q = q[:, None, :].expand(n, n, d_k).reshape(-1, 1, d_k)          # (n², 1, d_k)
    pairs_k = k[None, :, :].expand(n, n, d_k).reshape(-1, 1, d_k)
    expected = batched(dot, pairs_q, pairs_k).reshape(n, n)
    actual = ctx.run().tensors["0.attn.scores"][0, 0, :n, :n]
    return [compare.direct("dot-product", f"qᵢ·kⱼ vs torch.matmul scores (item 0, head 0, {n}×{n})",
                           ctx.info, expected, actual)]


@check("attention-scores")
def check_attention_scores(ctx: Context) -> list[Result]:
    """S = QKᵀ on the slice vs the run's raw scores (torch.matmul of the captured Q, K)."""
    q, k, _ = head_slice(ctx)
    n, d_k = q.shape
    expected = closed_form("attention-scores", "scores", n=n, m=n, d_k=d_k)(q, k)
    actual = ctx.run().tensors["0.attn.scores"][0, 0, :n, :n]
    return [compare.direct("attention-scores", f"S = QKᵀ vs torch.matmul (item 0, head 0, {n}×{n})",
                           ctx.info, expected, actual)]


@check("softmax")
def check_softmax(ctx: Context) -> list[Result]:
    """softmax of each row of QKᵀ/√d_k + causal mask vs the attention weights PyTorch computed."""
    rows = []
    for attention, source in (("mha", "nn.MultiheadAttention weights"), ("sdpa", "SDPA math-backend weights")):
        t = ctx.run(attention).tensors
        T, d_k = min(8, ctx.cfg.seq_len), ctx.cfg.d_k  # causal: rows < T see only the first T keys
        x = to_numpy(t["0.attn.scores"][0, 0, :T, :T]) / math.sqrt(d_k) + to_numpy(causal_additive(T))  # (T, T)
        expected = batched(closed_form("softmax", "softmax", n=T), torch.from_numpy(x)[:, None, :])  # (T, 1, T)
        actual = t["0.attn.weights"][0, 0, :T, :T]
        rows.append(compare.direct("softmax", f"rows of QKᵀ/√d_k + causal mask vs {source} (item 0, head 0, "
                                   f"first {T} rows)", ctx.info, expected.reshape(T, T), actual))
    return rows


# --- scaled dot-product attention ----------------------------------------------------------------
def backend_rows(ctx: Context, derivation: str, what: str, golden_fn, q, k, v, **kwargs) -> list[Result]:
    """One row per (dtype, backend): math judged with PyTorch's SDPA tolerances, fused kernels by
    PyTorch's method (error within 4× the math backend's error against the float64 golden value)."""
    rows = []
    for dtype in dtypes_for(ctx.device, ctx.dtype):
        qd, kd, vd = (t.to(dtype)[None, None] for t in (q, k, v))                 # (1, 1, n, d_k)
        golden = golden_fn(qd[0, 0], kd[0, 0], vd[0, 0])                          # float64 (n, d_v)
        outputs = {}
        for name in BACKENDS:
            out, why = run_backend(name, qd, kd, vd, **kwargs)
            outputs[name] = (None if out is None else out[0, 0], why)
        rows += judge_backends(derivation, what, ctx.info[0], dtype, golden, outputs)
    return rows


def judge_backends(derivation: str, what: str, device: str, dtype: torch.dtype, golden, outputs) -> list[Result]:
    """Rows for one dtype from ``outputs`` (backend name -> (output or None, why it could not run)):
    math against the golden value, each fused kernel by PyTorch's method, each missing one skipped."""
    table = SDPA_DEFAULTS if dtype in (torch.float16, torch.bfloat16) else ASSERT_CLOSE
    math_out = outputs["math"][0]
    rows = [compare.direct(derivation, f"{what} vs F.sdpa math", (device, _name(dtype)), golden, math_out,
                           dtype=_name(dtype), table=table)]
    for name, (out, why) in outputs.items():
        if name == "math":
            continue
        if out is None:
            rows.append(compare.Result(derivation, f"{what} vs F.sdpa {name}", device, _name(dtype),
                                       None, None, "-", compare.SKIPPED, why))
            continue
        rows.append(compare.fused(derivation, f"{what} vs F.sdpa {name}", device, _name(dtype), golden, out,
                                  math_out))
    return rows


@check(SDPA)
def check_scaled_dot_product_attention(ctx: Context) -> list[Result]:
    """softmax(QKᵀ/√d_k)V (no mask) vs every SDPA backend; the weights vs nn.MultiheadAttention's own."""
    q, k, v = head_slice(ctx)
    n, d_k = q.shape
    output = closed_form(SDPA, "output", n=n, m=n, d_k=d_k, d_v=d_k)
    weights = closed_form(SDPA, "weights", n=n, m=n, d_k=d_k, d_v=d_k)
    where = f"(item 0, head 0, {n}×{n}, no mask)"
    rows = backend_rows(ctx, SDPA, f"output {where}", output, q, k, v)
    # nn.MultiheadAttention's weights on the same tokens, from the module's own projections
    mha = ctx.run("mha").model.blocks[0].attn.mha
    x = ctx.run("mha").tensors["0.attn.x"][:1, :n]                                 # (1, n, d)
    with torch.no_grad():
        _, w = mha(x, x, x, need_weights=True, average_attn_weights=False)        # (1, h, n, n)
    rows.append(compare.direct(SDPA, f"weights {where} vs nn.MultiheadAttention(need_weights=True)",
                               ctx.info, weights(q, k), w[0, 0]))
    return rows


# --- masks ---------------------------------------------------------------------------------------
@check(MASKS)
def check_attention_masks(ctx: Context) -> list[Result]:
    """is_causal=True on every backend, the explicit causal mask of the real run, key padding, and what
    PyTorch returns for a fully masked row (a finding: the derivation says 0/0 is undefined)."""
    q, k, v = head_slice(ctx)
    n, d_k = q.shape
    M = causal_additive(n)
    out_form = closed_form(MASKS, "output", n=n, m=n, d_k=d_k, d_v=d_k)
    w_form = closed_form(MASKS, "weights", n=n, m=n, d_k=d_k, d_v=d_k)
    rows = backend_rows(ctx, MASKS, f"is_causal=True (item 0, head 0, {n}×{n})",
                        lambda a, b, c: out_form(a, b, c, M), q, k, v, is_causal=True)
    # the real run: explicit boolean causal masks (plus key padding) inside the model
    t = ctx.run("mha").tensors
    rows.append(compare.direct(MASKS, f"explicit causal mask: weights of the run's nn.MultiheadAttention "
                               f"(item 0, head 0, first {n} rows)", ctx.info, w_form(q, k, M),
                               t["0.attn.weights"][0, 0, :n, :n]))
    qs, ks, vs = head_slice(ctx, "sdpa")
    rows.append(compare.direct(MASKS, f"explicit causal mask: head output of the run's F.sdpa "
                               f"(item 0, head 0, first {n} rows)", ctx.info, out_form(qs, ks, vs, M),
                               ctx.run("sdpa").tensors["0.attn.heads"][0, 0, :n]))
    rows += _key_padding(ctx, n, w_form, out_form)
    rows.append(_fully_masked(ctx, w_form, out_form))
    return rows


def _mha_module(ctx: Context) -> nn.MultiheadAttention:
    return ctx.run("mha").model.blocks[0].attn.mha


def _qkv(mha: nn.MultiheadAttention, x: torch.Tensor, head: int = 0):
    """Q, K, V (n, d_k) of one head: the module's input through its own in_proj_weight (F.linear)."""
    d = mha.embed_dim
    d_k = d // mha.num_heads
    q, k, v = F.linear(x, mha.in_proj_weight, mha.in_proj_bias).chunk(3, dim=-1)   # 3 × (n, d)
    return tuple(t[:, head * d_k:(head + 1) * d_k] for t in (q, k, v))


def _key_padding(ctx: Context, n: int, w_form, out_form) -> list[Result]:
    """The shortest item's tokens with its last keys marked as padding: nn.MultiheadAttention's
    key_padding_mask and SDPA's boolean mask vs the closed form with −∞ in the padded columns."""
    mha = _mha_module(ctx)
    x = ctx.run("mha").tensors["0.attn.x"][-1, :n]                                  # (n, d)
    padded = min(3, n - 1)
    pad = torch.zeros(1, n, dtype=torch.bool, device=ctx.device)
    pad[0, n - padded:] = True                                                      # (1, n) True = padding
    M = additive(pad.expand(n, n))
    with torch.no_grad():
        out, w = mha(x[None], x[None], x[None], key_padding_mask=pad, need_weights=True,
                     average_attn_weights=False)
        q, k, v = _qkv(mha, x)
        sdpa = F.scaled_dot_product_attention(q[None, None], k[None, None], v[None, None],
                                              attn_mask=~pad[:, None, None, :], dropout_p=0.0)[0, 0]
    where = f"(last item, head 0, {n} tokens, last {padded} keys padded)"
    return [compare.direct(MASKS, f"key padding: weights vs nn.MultiheadAttention key_padding_mask {where}",
                           ctx.info, w_form(q, k, M), w[0, 0]),
            compare.direct(MASKS, f"key padding: output vs F.sdpa boolean attn_mask {where}",
                           ctx.info, out_form(q, k, v, M), sdpa)]


def _describe(row: torch.Tensor) -> str:
    row = row.detach().double().cpu()
    if torch.isnan(row).all():
        return "NaN"
    if (row == 0).all():
        return "zeros"
    return f"values (max |·| {row.abs().max().item():.3g}, NaN: {bool(torch.isnan(row).any())})"


def _fully_masked(ctx: Context, w_form, out_form) -> Result:
    """Query 1 may see no key. The derivation: 0/0, undefined. Report what PyTorch returns (a finding);
    the other rows must still match the closed form."""
    n = ctx.head_rows  # the same size as the forms passed in
    mha = _mha_module(ctx)
    x = ctx.run("mha").tensors["0.attn.x"][0, :n]                                   # (n, d)
    blocked = torch.ones(n, n, dtype=torch.bool, device=ctx.device).triu(1)
    blocked[1] = True                                                               # row 1 fully masked
    M = additive(blocked)
    with torch.no_grad():
        q, k, v = _qkv(mha, x)
        sdpa = F.scaled_dot_product_attention(q[None, None], k[None, None], v[None, None],
                                              attn_mask=~blocked, dropout_p=0.0)[0, 0]   # (n, d_k)
        _, w = mha(x[None], x[None], x[None], attn_mask=blocked, need_weights=True, average_attn_weights=False)
    form_w, form_out = w_form(q, k, M), out_form(q, k, v, M)
    keep = [i for i in range(n) if i != 1]
    ok = compare.within(form_out[keep], to_numpy(sdpa)[keep], *ASSERT_CLOSE[ctx.dtype_name]) and \
        compare.within(form_w[keep], to_numpy(w[0, 0])[keep], *ASSERT_CLOSE[ctx.dtype_name])
    abs_err, rel_err = compare.errors(form_out[keep], to_numpy(sdpa)[keep])
    closed = "NaN (0/0)" if np.isnan(form_w[1]).all() else "not NaN"
    notes = (f"fully masked row: derivation says undefined (0/0); its closed form gives {closed}; "
             f"F.scaled_dot_product_attention returned {_describe(sdpa[1])}; nn.MultiheadAttention("
             f"need_weights=True) returned weights {_describe(w[0, 0, 1])}. Errors are over the other rows.")
    rtol, atol = ASSERT_CLOSE[ctx.dtype_name]
    return Result(MASKS, f"fully masked row (query 1 of {n}) vs F.sdpa and nn.MultiheadAttention",
                  *ctx.info, abs_err, rel_err, f"rtol {rtol:g}, atol {atol:g}",
                  FINDING if ok else compare.FAILED, notes)


# --- multi-head attention ------------------------------------------------------------------------
MHA_WIDTH, MHA_HEADS, MHA_TOKENS = 4, 2, 2  # the written-out MHA grows as n·d² per entry: keep it tiny


@check(MHA)
def check_multi_head_attention(ctx: Context) -> list[Result]:
    """Concat(head₁…head_h) W_Oᵀ + b_O from a module's own weights vs nn.MultiheadAttention and the
    F.sdpa-based module of the other configuration, also with each SDPA backend forced (seeded
    standalone modules of width 4, 2 heads, 2 tokens: the written-out closed form is too big at the
    run's width); 4d² + 4d vs sum(p.numel())."""
    rows = []
    n, d, h = MHA_TOKENS, MHA_WIDTH, MHA_HEADS
    output = closed_form(MHA, "output", n=n, d_model=d, h=h)
    x = ctx.randn(n, d, offset=7)                                                   # (n, d)
    torch.manual_seed(ctx.seed)
    mha = nn.MultiheadAttention(d, h, batch_first=True).to(ctx.device, ctx.dtype)
    with torch.no_grad():
        nn.init.normal_(mha.in_proj_bias)
        nn.init.normal_(mha.out_proj.bias)
        y, _ = mha(x[None], x[None], x[None], need_weights=False)                   # (1, n, d)
    rows.append(compare.direct(MHA, f"output vs nn.MultiheadAttention (seeded, d = {d}, h = {h}, {n} tokens, "
                               "no mask)", ctx.info, output(x, mha.in_proj_weight, mha.in_proj_bias,
                                                             mha.out_proj.weight, mha.out_proj.bias), y[0]))
    attn = SDPAAttention(replace(ctx.cfg, d_model=d, n_heads=h, attention="sdpa")).to(ctx.device, ctx.dtype)
    none = torch.zeros(n, n, dtype=torch.bool, device=ctx.device)
    with torch.no_grad():
        nn.init.normal_(attn.in_proj.bias)
        ys = attn(x[None], none, none[:1])[0]
    rows.append(compare.direct(MHA, f"output vs the F.sdpa module (seeded, d = {d}, h = {h}, {n} tokens, "
                               "no mask)", ctx.info, output(x, attn.in_proj.weight, attn.in_proj.bias,
                                                             attn.out_proj.weight, attn.out_proj.bias), ys))
    rows += _mha_backends(ctx, output, x, attn)
    params = closed_form(MHA, "parameters", n=n, d_model=d, h=h)
    for width, heads in sorted({(ctx.cfg.d_model, ctx.cfg.n_heads), (768, 12), (4096, 32)}):
        with torch.device("meta"):
            count = sum(p.numel() for p in nn.MultiheadAttention(width, heads).parameters())
        rows.append(compare.exact(MHA, f"parameters 4d² + 4d vs sum(p.numel()) of nn.MultiheadAttention "
                                  f"(d = {width}, meta device)", "meta", round(float(params(width))), count))
    return rows


def _mha_backends(ctx: Context, output, x: torch.Tensor, attn: SDPAAttention) -> list[Result]:
    """The F.sdpa module with each SDPA backend forced in turn, at each dtype the device runs the fused
    kernels in, against the closed form on the module's own weights (cast to that dtype)."""
    rows = []
    n, d = x.shape
    h = attn.n_heads
    for dtype in dtypes_for(ctx.device, ctx.dtype):
        module = copy.deepcopy(attn).to(dtype)
        xd = x.to(dtype)                                                                # (n, d)
        golden = output(xd, module.in_proj.weight, module.in_proj.bias, module.out_proj.weight,
                        module.out_proj.bias)                                          # float64 (n, d)
        outputs = {}
        with torch.no_grad():
            q, k, v = (t.view(1, n, h, d // h).transpose(1, 2)
                       for t in module.in_proj(xd[None]).split(d, dim=-1))             # (1, h, n, d_k)
            for name in BACKENDS:
                heads, why = run_backend(name, q, k, v)                                # (1, h, n, d_k)
                outputs[name] = (None if heads is None else
                                 module.out_proj(heads.transpose(1, 2).reshape(1, n, d))[0], why)  # (n, d)
        rows += judge_backends(MHA, f"output of the F.sdpa module (seeded, d = {d}, h = {h}, {n} tokens)",
                               ctx.info[0], dtype, golden, outputs)
    return rows


# --- permutation equivariance --------------------------------------------------------------------
@check("permutation-equivariance")
def check_permutation_equivariance(ctx: Context) -> list[Result]:
    """Y(PX) = P·Y(X) for the real attention modules, no positions and no mask; with a causal mask
    the identity breaks (reported as a finding)."""
    rows = []
    T = ctx.cfg.seq_len
    perm = torch.randperm(T, generator=torch.Generator().manual_seed(ctx.seed + 11)).to(ctx.device)
    for attention, label in (("mha", "nn.MultiheadAttention"), ("sdpa", "F.sdpa module")):
        attn = ctx.run(attention).model.blocks[0].attn
        x = ctx.run(attention).tensors["0.attn.x"][:1]                              # (1, T, d)
        none = torch.zeros(T, T, dtype=torch.bool, device=ctx.device)
        causal = torch.ones_like(none).triu(1)
        with torch.no_grad():
            y = attn(x, none, none[:1])
            y_perm = attn(x[:, perm], none, none[:1])
            yc, yc_perm = attn(x, causal, none[:1]), attn(x[:, perm], causal, none[:1])
        rows.append(compare.direct("permutation-equivariance", f"Y(PX) = P·Y(X), {label} (block 0, item 0, "
                                   f"{T} tokens, no positions, no mask)", ctx.info, y[:, perm], y_perm))
        abs_err, rel_err = compare.errors(yc[:, perm], yc_perm)
        rows.append(Result("permutation-equivariance", f"with a causal mask, {label}", *ctx.info, abs_err, rel_err,
                           "-", FINDING, "a causal mask breaks equivariance (it depends on order, as positions do): "
                           f"largest |Y(PX) − P·Y(X)| = {abs_err:.3g}"))
    return rows
