"""Why attention divides by √d_k: Monte-Carlo variance of q·k, the softmax Jacobian, saturation.

Var(q·k) = d_k for q, k with independent N(0, 1) entries. The sample variance s² of N dot products
has standard error √((m₄ − s⁴)/N) (m₄ the sample fourth central moment; normal approximation,
N = 32768). The check passes when |s² − d_k| ≤ z·SE with z chosen so that the four widths together
fail by chance with probability 10⁻⁷ (< 10⁻⁶; Bonferroni), at the fixed seed.
"""
from __future__ import annotations

import math
from statistics import NormalDist

import torch

from explainer.numeric import compare
from explainer.numeric.checks.base import Context, check
from explainer.numeric.compare import FINDING, Result, closed_form

NAME = "softmax-scaling"
WIDTHS = (16, 64, 256, 1024)
SAMPLES, CHUNK = 32768, 4096
FALSE_FAILURE = 1e-7


@check(NAME)
def check_softmax_scaling(ctx: Context) -> list[Result]:
    z = NormalDist().inv_cdf(1 - FALSE_FAILURE / (2 * len(WIDTHS)))
    rows = [_variance(ctx, d_k, z, offset) for offset, d_k in enumerate(WIDTHS)]
    rows.append(_jacobian(ctx))
    rows.append(_saturation(ctx))
    return rows


def _dots(ctx: Context, d_k: int, offset: int) -> torch.Tensor:
    """SAMPLES dot products of independent standard normal vectors of width d_k (float64, on the device)."""
    gen = ctx.generator(100 + offset)
    out = []
    for _ in range(SAMPLES // CHUNK):
        q, k = (torch.randn(CHUNK, d_k, generator=gen, device=ctx.device, dtype=torch.float64) for _ in "qk")
        out.append((q * k).sum(-1))
    return torch.cat(out)                                                            # (SAMPLES,)


def _variance(ctx: Context, d_k: int, z: float, offset: int) -> Result:
    expected = float(closed_form(NAME, "variance", d_k=d_k)())
    dots = _dots(ctx, d_k, offset)
    s2 = dots.var().item()
    m4 = ((dots - dots.mean()) ** 4).mean().item()
    bound = z * math.sqrt(max(m4 - s2 * s2, 0.0) / SAMPLES)
    err = abs(s2 - expected)
    status = compare.PASSED if err <= bound else compare.FAILED
    notes = (f"sample variance {s2:.4g} vs d_k = {expected:g}; scaled by 1/√d_k: {s2 / d_k:.4f} vs 1; "
             f"bound z·SE with z = {z:.2f} (false-failure probability {FALSE_FAILURE:g} for all widths)")
    return Result(NAME, f"Monte-Carlo Var(q·k), d_k = {d_k}, N = {SAMPLES}", ctx.info[0],
                  "float64", err, err / expected, f"z·SE = {bound:.3g}", status, notes)


def _jacobian(ctx: Context) -> Result:
    """diag(p) − ppᵀ vs autograd's Jacobian of torch.softmax at a row of the run's scaled scores."""
    n = min(4, ctx.cfg.seq_len)
    scores = ctx.run().tensors["0.attn.scores"][0, 0, n - 1, :n] / math.sqrt(ctx.cfg.d_k)   # (n,) row n−1 sees n keys
    jac = torch.autograd.functional.jacobian(lambda x: torch.softmax(x, -1), scores)         # (n, n)
    expected = closed_form(NAME, "jacobian", d_k=ctx.cfg.d_k, n=n)(scores)
    return compare.direct(NAME, f"softmax Jacobian diag(p) − ppᵀ vs autograd (row {n - 1} of block 0, head 0)",
                          ctx.info, expected, jac)


def _saturation(ctx: Context) -> Result:
    """With d_k = 1024, 16 keys: the largest weight and the Jacobian's norm with and without 1/√d_k."""
    d_k, keys = 1024, 16
    q = ctx.randn(d_k, offset=201, dtype=torch.float64)
    K = ctx.randn(keys, d_k, offset=202, dtype=torch.float64)
    logits = K @ q                                                                   # (keys,), spread ≈ √d_k
    stats = {}
    for label, x in (("unscaled", logits), ("scaled", logits / math.sqrt(d_k))):
        jac = torch.autograd.functional.jacobian(lambda t: torch.softmax(t, -1), x)
        stats[label] = (torch.softmax(x, -1).max().item(), torch.linalg.matrix_norm(jac).item())
    saturates = stats["unscaled"][0] > stats["scaled"][0] and stats["unscaled"][1] < stats["scaled"][1]
    notes = (f"largest weight {stats['unscaled'][0]:.4f} unscaled vs {stats['scaled'][0]:.4f} scaled; "
             f"‖Jacobian‖_F {stats['unscaled'][1]:.3g} unscaled vs {stats['scaled'][1]:.3g} scaled "
             "(torch.softmax, autograd)")
    return Result(NAME, f"saturation without 1/√d_k (d_k = {d_k}, {keys} keys)", ctx.info[0],
                  "float64", None, None, "unscaled: larger max weight, smaller gradient",
                  FINDING if saturates else compare.FAILED, notes)
