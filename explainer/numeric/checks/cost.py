"""Model size and cost: parameter counts and attention FLOPs against real torch modules on the
``meta`` device (shapes only: a 405B-parameter model is built without allocating its memory)."""
from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from explainer.numeric import compare
from explainer.numeric.checks.base import Context, check
from explainer.numeric.compare import Result, closed_form

COUNT, COST = "parameter-count", "attention-cost"


def gpt2_module(c) -> nn.Module:
    """GPT-2 layout: token + learned position embeddings, pre-LN blocks (fused-QKV attention with biases,
    GELU MLP), final LayerNorm, head tied to the token embeddings."""
    def block():
        return nn.ModuleList([nn.LayerNorm(c.d_model), nn.MultiheadAttention(c.d_model, c.n_heads),
                              nn.LayerNorm(c.d_model), nn.Linear(c.d_model, c.d_ff), nn.Linear(c.d_ff, c.d_model)])
    model = nn.ModuleDict({"wte": nn.Embedding(c.vocab, c.d_model), "wpe": nn.Embedding(c.n_ctx, c.d_model),
                           "blocks": nn.ModuleList(block() for _ in range(c.n_layers)),
                           "ln_f": nn.LayerNorm(c.d_model), "head": nn.Linear(c.d_model, c.vocab, bias=False)})
    model["head"].weight = model["wte"].weight
    return model


def llama_module(c) -> nn.Module:
    """Llama layout: token embeddings, RMSNorm, grouped-query attention without biases, SwiGLU MLP,
    final RMSNorm, untied head."""
    d, kv = c.d_model, c.n_kv_heads * (c.d_model // c.n_heads)

    def block():
        return nn.ModuleList([nn.RMSNorm(d), nn.Linear(d, d, bias=False), nn.Linear(d, kv, bias=False),
                              nn.Linear(d, kv, bias=False), nn.Linear(d, d, bias=False), nn.RMSNorm(d),
                              nn.Linear(d, c.d_ff, bias=False), nn.Linear(d, c.d_ff, bias=False),
                              nn.Linear(c.d_ff, d, bias=False)])
    return nn.ModuleDict({"embed": nn.Embedding(c.vocab, d), "blocks": nn.ModuleList(block() for _ in range(c.n_layers)),
                          "norm": nn.RMSNorm(d), "head": nn.Linear(d, c.vocab, bias=False)})


@check(COUNT)
def check_parameter_count(ctx: Context) -> list[Result]:
    """The derivation's formula for every ``explainer size`` preset vs sum(p.numel()) on the meta device."""
    from explainer.sizes import PRESETS

    rows = []
    for name, preset in PRESETS.items():
        c = preset.config
        if c.arch not in ("gpt2", "llama"):  # encoders: checked by component in hf_sizes
            continue
        if c.arch == "gpt2":
            form, values = closed_form(COUNT, "gpt2"), (c.n_layers, c.d_model, c.vocab, c.n_ctx)
            build = gpt2_module
        else:
            form = closed_form(COUNT, "llama")
            values, build = (c.n_layers, c.d_model, c.n_heads, c.n_kv_heads, c.d_ff, c.vocab), llama_module
        with torch.device("meta"):
            actual = sum(p.numel() for p in build(c).parameters())
        rows.append(compare.exact(COUNT, f"{name} vs sum(p.numel()) of its torch modules", "meta",
                                  round(float(form(*values))), actual))
    return rows


@check(COST)
def check_attention_cost(ctx: Context) -> list[Result]:
    """FLOPs of nn.MultiheadAttention counted by torch.utils.flop_counter, and the entries of its
    per-head weights, vs 8nd² + 4n²d and h·n² (meta device, one sequence)."""
    rows = []
    flops, memory = closed_form(COST, "flops"), closed_form(COST, "score_memory")
    for d, h in sorted({(ctx.cfg.d_model, ctx.cfg.n_heads), (768, 12)}):
        for n in (128, 1024, 4096):
            with torch.device("meta"):
                mha = nn.MultiheadAttention(d, h, batch_first=True)
                x = torch.empty(1, n, d)
                with FlopCounterMode(display=False) as counter:
                    mha(x, x, x, need_weights=False)
                _, weights = mha(x, x, x, need_weights=True, average_attn_weights=False)   # (1, h, n, n)
            rows.append(compare.exact(COST, f"FLOPs 8nd² + 4n²d vs FlopCounterMode (n = {n}, d = {d})", "meta",
                                      round(float(flops(n, d))), counter.get_total_flops()))
            rows.append(compare.exact(COST, f"score entries h·n² vs numel of the attention weights "
                                      f"(n = {n}, h = {h})", "meta", round(float(memory(n, h))), weights.numel()))
    return rows
