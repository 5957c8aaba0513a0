"""The transformer block: LayerNorm, the residual connection and the GELU MLP.

LayerNorm's closed form is evaluated row by row (all d entries written out) on the first n tokens of
each LayerNorm's captured input and compared with the module's captured output (the run's γ, β are
random, never 1 and 0: see ``_gpt2_init``); the same rows are also checked through a copy of the module
with larger random γ, β (still ``nn.LayerNorm`` as the oracle).
"""
from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F

from explainer.numeric import compare
from explainer.numeric.checks.base import WIDTH_CAP, Context, check, rows_last
from explainer.numeric.compare import FINDING, Result, closed_form, to_numpy

LN, FF = "residual-layernorm", "feed-forward"


def _layer_norm_rows(form, x: torch.Tensor, ln: torch.nn.LayerNorm) -> np.ndarray:
    """The closed form on every row of x (N, d) at once → (N, d)."""
    out = form(rows_last(x[:, None, :]), ln.weight, ln.bias, ln.eps)                  # (1, d, N)
    return np.moveaxis(out, -1, 0).reshape(x.shape[0], -1)


@check(LN)
def check_residual_layernorm(ctx: Context) -> list[Result]:
    run = ctx.run()
    n, d = ctx.rows, ctx.cfg.d_model
    if d > WIDTH_CAP:  # a row of d entries, each with its own mean and variance, is too big to write out
        return [_standalone_layer_norm(ctx), _residual_jacobian(ctx)]
    form = closed_form(LN, "layer_norm", d=d)
    modules = dict(run.model.named_modules())
    rows = []
    for key in [f"{i}.ln_{k}" for i in range(ctx.cfg.n_layers) for k in (1, 2)] + ["ln_f"]:
        ln = modules[key if key == "ln_f" else f"blocks.{key}"]
        x = run.tensors[f"{key}.in"][0, :n]                                            # (n, d)
        rows.append(compare.direct(LN, f"LayerNorm vs nn.LayerNorm {key} of the run (item 0, {n} rows)",
                                   ctx.info, _layer_norm_rows(form, x, ln), run.tensors[f"{key}.out"][0, :n]))
    ln = copy.deepcopy(run.model.blocks[0].ln_1)
    with torch.no_grad():
        ln.weight.copy_(ctx.randn(d, offset=31))
        ln.bias.copy_(ctx.randn(d, offset=32))
        x = run.tensors["0.ln_1.in"][0, :n]
        rows.append(compare.direct(LN, f"LayerNorm with random γ, β vs nn.LayerNorm (item 0, {n} rows)",
                                   ctx.info, _layer_norm_rows(form, x, ln), ln(x)))
    rows.append(_residual_jacobian(ctx))
    return rows


def _standalone_layer_norm(ctx: Context) -> Result:
    """A seeded nn.LayerNorm(WIDTH_CAP) with random γ, β on random rows, for models wider than that."""
    n = ctx.rows
    ln = torch.nn.LayerNorm(WIDTH_CAP, eps=ctx.cfg.eps).to(ctx.device, ctx.dtype)
    with torch.no_grad():
        ln.weight.copy_(ctx.randn(WIDTH_CAP, offset=33))
        ln.bias.copy_(ctx.randn(WIDTH_CAP, offset=34))
        x = 3 * ctx.randn(n, WIDTH_CAP, offset=35) + 1
        actual = ln(x)
    form = closed_form(LN, "layer_norm", d=WIDTH_CAP)
    return compare.direct(LN, f"LayerNorm vs a seeded nn.LayerNorm({WIDTH_CAP}) with random γ, β ({n} rows; the "
                          f"model's d = {ctx.cfg.d_model} is too wide to write out)", ctx.info,
                          _layer_norm_rows(form, x, ln), actual)


def _residual_jacobian(ctx: Context) -> Result:
    """y = x + F(x) with F = MLP(LN₂(x)) of block 0: autograd's ∂y/∂x against I + J_F (J_F by autograd)."""
    block = ctx.run().model.blocks[0]
    x = ctx.run().tensors["0.ln_2.in"][0, 0]                                           # (d,)
    sublayer = lambda v: block.mlp(block.ln_2(v))                                       # noqa: E731
    j_y = torch.autograd.functional.jacobian(lambda v: v + sublayer(v), x)             # (d, d)
    j_f = torch.autograd.functional.jacobian(sublayer, x)
    expected = np.eye(x.shape[0]) + to_numpy(j_f)
    return compare.direct(LN, "residual Jacobian ∂(x + F(x))/∂x = I + J_F vs autograd (block 0 MLP, token 0)",
                          ctx.info, expected, j_y)


@check(FF)
def check_feed_forward(ctx: Context) -> list[Result]:
    run = ctx.run()
    pre = run.tensors["0.mlp.pre"][0, : ctx.rows]                                     # (n, d_ff)
    rows = []
    for label, approx in (("gelu_erf", "none"), ("gelu_tanh", "tanh")):
        expected = closed_form(FF, label, d_model=ctx.cfg.d_model, d_ff=ctx.cfg.d_ff)(pre)
        rows.append(compare.direct(FF, f"{label} vs F.gelu(approximate={approx!r}) on the run's MLP input "
                                   f"(block 0, item 0, {pre.shape[0]}×{pre.shape[1]})", ctx.info, expected,
                                   F.gelu(pre, approximate=approx)))
    rows.append(compare.direct(FF, "gelu_erf vs the model's nn.GELU output (block 0, item 0)", ctx.info,
                               closed_form(FF, "gelu_erf", d_model=ctx.cfg.d_model, d_ff=ctx.cfg.d_ff)(pre),
                               run.tensors["0.mlp.act"][0, : ctx.rows]))
    grid = torch.linspace(-6, 6, 120001, dtype=torch.float64, device=ctx.device)
    gap = (F.gelu(grid) - F.gelu(grid, approximate="tanh")).abs()
    at = grid[gap.argmax()].item()
    rows.append(Result(FF, "largest |GELU_erf − GELU_tanh| on [−6, 6] (F.gelu, float64)", ctx.info[0], "float64",
                       gap.max().item(), None, "-", FINDING, f"at x ≈ ±{abs(at):.3f}"))
    count = closed_form(FF, "parameters", d_model=ctx.cfg.d_model, d_ff=ctx.cfg.d_ff)()
    actual = sum(p.numel() for p in run.model.blocks[0].mlp.parameters())
    rows.append(compare.exact(FF, f"parameters vs sum(p.numel()) of the run's MLP (d = {ctx.cfg.d_model}, "
                              f"d_ff = {ctx.cfg.d_ff})", ctx.info[0], int(count), actual))
    return rows
