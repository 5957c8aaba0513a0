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
VOCAB_SLICE = 16          # logits of the first 16 vocabulary rows (each is written out entry by entry)
SMALL_D, SMALL_V = 4, 8   # the softmax over a whole vocabulary, written out, is checked on a seeded small head
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
    rows.append(_probabilities(ctx))
    return rows


def _probabilities(ctx: Context) -> Result:
    """softmax(h·W_Eᵀ) over a whole vocabulary vs F.softmax of a seeded tied head (d = 4, V = 8): the
    run's vocabulary is too large to write the softmax out entry by entry."""
    emb = torch.nn.Embedding(SMALL_V, SMALL_D).to(ctx.device, ctx.dtype)
    head = torch.nn.Linear(SMALL_D, SMALL_V, bias=False).to(ctx.device, ctx.dtype)
    with torch.no_grad():
        emb.weight.copy_(ctx.randn(SMALL_V, SMALL_D, offset=41))
        head.weight = emb.weight
        h = ctx.randn(ctx.rows, SMALL_D, offset=42)                                 # (n, d)
        actual = F.softmax(head(h), dim=-1)
    expected = _rows(closed_form(HEAD, "probabilities", d=SMALL_D, V=SMALL_V), h, emb.weight.detach())
    return compare.direct(HEAD, f"next-token probabilities vs F.softmax of a seeded tied head (d = {SMALL_D}, "
                          f"V = {SMALL_V}, {ctx.rows} rows)", ctx.info, expected, actual)


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
                       f"initial loss {run.loss.item():.4f} (GPT-2 scale: weights and biases N(0, 0.02²), "
                       "LayerNorm gains 1 + N(0, 0.1²))"))
    return rows
