"""Next-token prediction: the tied LM head, cross-entropy and its gradient, the untrained loss.

Oracles: the model's tied ``nn.Linear`` head, ``F.cross_entropy`` (mean over the N non-ignored
targets) and autograd's gradient of the logits from the run's ``loss.backward()``.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from explainer.numeric import compare
from explainer.numeric.checks.base import Context, batched, check
from explainer.numeric.compare import Result, closed_form
from explainer.numeric.run import IGNORE

HEAD, CE = "lm-head", "cross-entropy"
VOCAB_SLICE = 64          # logits of the first 64 vocabulary rows (each is written out entry by entry)
FULL_SOFTMAX = 512        # write the probabilities over the whole vocabulary out only up to this size
UNTRAINED = 0.05          # the untrained loss must be within 5 % of ln V


@check(HEAD)
def check_lm_head(ctx: Context) -> list[Result]:
    run = ctx.run()
    n, d, V = ctx.rows, ctx.cfg.d_model, ctx.cfg.vocab
    v = min(V, VOCAB_SLICE)
    h = run.tensors["ln_f.out"][0, :n]                                                # (n, d)
    W_E = run.model.tok_emb.weight.detach()[:v]                                      # (v, d)
    form = closed_form(HEAD, "logits", d=d, V=v)
    expected = _rows(form, h, W_E)
    rows = [compare.direct(HEAD, f"logits h·W_Eᵀ vs the tied nn.Linear head (item 0, {n} rows, first {v} "
                           "vocabulary entries)", ctx.info, expected, run.tensors["logits"][0, :n, :v])]
    if V <= FULL_SOFTMAX:
        probs = _rows(closed_form(HEAD, "probabilities", d=d, V=V), h, run.model.tok_emb.weight.detach())
        rows.append(compare.direct(HEAD, f"next-token probabilities vs F.softmax of the run's logits "
                                   f"(item 0, {n} rows, V = {V})", ctx.info, probs,
                                   F.softmax(run.tensors["logits"][0, :n], dim=-1)))
    else:
        rows.append(compare.skipped(HEAD, "next-token probabilities", ctx.info,
                                    f"V = {V} is too large to write the softmax out entry by entry "
                                    f"(limit {FULL_SOFTMAX}); the logits are checked above"))
    return rows


def _rows(form, h: torch.Tensor, W_E: torch.Tensor) -> np.ndarray:
    """The closed form on each row of h: one (1, d) row at a time if that is its shape, else all at once."""
    if form.shapes[0][0] == 1:
        return batched(lambda x: form(x, W_E), h[:, None, :]).reshape(h.shape[0], -1)
    return form(h, W_E)


@check(CE)
def check_cross_entropy(ctx: Context) -> list[Result]:
    run = ctx.run()
    V = ctx.cfg.vocab
    valid = run.batch.targets != IGNORE                                               # (B, T)
    z = run.tensors["logits"][valid]                                                 # (N, V)
    y = F.one_hot(run.batch.targets[valid], V).to(torch.float64)                     # (N, V)
    N = z.shape[0]
    loss_form = closed_form(CE, "loss", V=V)
    per_token = batched(loss_form, z[:, None, :], y[:, None, :]).reshape(N)
    rows = [compare.direct(CE, f"mean of CE(z, y) over the N = {N} targets vs F.cross_entropy (mean)",
                           ctx.info, np.array([per_token.mean()]), run.loss.reshape(1))]
    grad = batched(closed_form(CE, "grad", V=V), z[:, None, :], y[:, None, :]).reshape(N, V) / N
    expected = np.zeros(tuple(run.tensors["logits.grad"].shape))
    expected[valid.cpu().numpy()] = grad
    rows.append(compare.direct(CE, f"∂loss/∂z = (softmax(z) − onehot(y))/N vs autograd (all {valid.numel()} "
                               "positions, ignored ones 0)", ctx.info, expected, run.tensors["logits.grad"]))
    uniform = float(loss_form(np.zeros((1, V)), np.eye(V)[:1]))
    err = abs(run.loss.item() - uniform)
    rows.append(Result(CE, f"untrained loss vs CE of uniform logits = ln V = {math.log(V):.4f}", *ctx.info, err,
                       err / uniform, f"{UNTRAINED:.0%} of ln V",
                       compare.PASSED if err <= UNTRAINED * uniform else compare.FAILED,
                       f"initial loss {run.loss.item():.4f} (GPT-2 initialisation, weights N(0, 0.02²))"))
    return rows
