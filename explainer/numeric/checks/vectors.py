"""Linear layers and embeddings: ``nn.Linear`` and ``nn.Embedding`` of the reference run as oracles."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from explainer.numeric import compare
from explainer.numeric.checks.base import Context, batched, check
from explainer.numeric.compare import Result, closed_form

LINEAR, EMB = "linear-layer", "embeddings"
OUT_SLICE = 8  # output neurons (and vocabulary rows) written out


@check(LINEAR)
def check_linear_layer(ctx: Context) -> list[Result]:
    """y = x Wᵀ + b for the MLP's first nn.Linear and for Q = X W_Qᵀ + b_Q of the SDPA configuration."""
    rows = []
    n, d = ctx.rows, ctx.cfg.d_model
    mlp = ctx.run().model.blocks[0].mlp.fc
    k = min(OUT_SLICE, ctx.cfg.d_ff)
    x = ctx.run().tensors["0.ln_2.out"][0, :n]                                         # (n, d)
    form = closed_form(LINEAR, "linear", d_in=d, d_out=k)
    expected = batched(lambda r: form(r, mlp.weight[:k], mlp.bias[:k]), x[:, None, :]).reshape(n, k)
    rows.append(compare.direct(LINEAR, f"x Wᵀ + b vs nn.Linear (block 0 MLP fc, item 0, {n} rows, first {k} "
                               "outputs)", ctx.info, expected, ctx.run().tensors["0.mlp.pre"][0, :n, :k]))
    attn = ctx.run("sdpa").model.blocks[0].attn
    d_k = min(ctx.cfg.d_k, OUT_SLICE)
    xs = ctx.run("sdpa").tensors["0.attn.x"][0, :n]
    form = closed_form(LINEAR, "linear", d_in=d, d_out=d_k)
    expected = batched(lambda r: form(r, attn.in_proj.weight[:d_k], attn.in_proj.bias[:d_k]),
                       xs[:, None, :]).reshape(n, d_k)
    rows.append(compare.direct(LINEAR, f"Q = X W_Qᵀ + b_Q vs the Q the run passed to F.sdpa (block 0, head 0, "
                               f"{n} rows, first {d_k} dims)", ctx.info, expected,
                               ctx.run("sdpa").tensors["0.attn.q"][0, 0, :n, :d_k]))
    return rows


@check(EMB)
def check_embeddings(ctx: Context) -> list[Result]:
    """One-hot row times W_E vs nn.Embedding's lookup of the run's token ids."""
    run = ctx.run()
    V, d = ctx.cfg.vocab, ctx.cfg.d_model
    v = min(V, 2 * OUT_SLICE)
    ids = run.batch.ids[0, : ctx.rows].clamp(max=v - 1)                                # (n,) ids < v
    form = closed_form(EMB, "lookup", V=v, d=d)
    onehot = F.one_hot(ids, v).to(torch.float64)                                       # (n, v)
    W_E = run.model.tok_emb.weight.detach()[:v]                                        # (v, d)
    if form.shapes[0][0] == 1:
        expected = batched(lambda r: form(r, W_E), onehot[:, None, :]).reshape(len(ids), d)
    else:
        expected = form(onehot, W_E)
    with torch.no_grad():
        actual = run.model.tok_emb(ids)
    return [compare.direct(EMB, f"onehot(id)·W_E vs nn.Embedding (item 0, {len(ids)} tokens, first {v} "
                           "vocabulary rows)", ctx.info, expected, actual)]
