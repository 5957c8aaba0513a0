"""Today's LLM pieces — RoPE, grouped-query attention, the KV cache, RMSNorm, SwiGLU — against the code
people run: Hugging Face transformers' Llama modules built from small configs (never ``from_pretrained``,
nothing downloaded) and PyTorch's own modules where it has one.

Every parameter of a reference module gets a seeded random value (no zero biases, no unit norm weights,
so a missing term cannot pass). Where the oracle computes in float32 whatever the model's dtype
(``LlamaRotaryEmbedding``'s inv_freq, ``LlamaRMSNorm``, eager attention's softmax), the comparison uses
float32's assert_close tolerance and says so in its notes.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from explainer.errors import MissingTool
from explainer.numeric import compare
from explainer.numeric.checks.base import Context, batched, check, rows_last
from explainer.numeric.compare import Result, closed_form, to_numpy

ROPE, GQA, KV, RMS, SWIGLU = "rotary-positional-encoding", "grouped-query-attention", "kv-cache", "rms-norm", "swiglu"
NEEDS_TRANSFORMERS = (ROPE, GQA, KV, RMS, SWIGLU)
HF_INSTALL = "pip install 'transformer-math-explainer[hf]'  (or: pip install 'transformers>=5')"
#: The small Llama every check builds: 4 query heads sharing 2 K/V heads of width 8.
TINY = dict(vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, head_dim=8, max_position_embeddings=64, rope_theta=10000.0,
            rms_norm_eps=1e-6, attention_bias=False, mlp_bias=False, hidden_act="silu")
#: meta-llama/Meta-Llama-3-8B config.json (Hugging Face hub), written out here, not read from the formula.
LLAMA3_8B = dict(hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
                 num_key_value_heads=8, head_dim=128, vocab_size=128256)


def transformers_llama():
    """transformers' ``modeling_llama`` module, or :class:`MissingTool` (exit 2) with the install hint."""
    try:
        from transformers.models.llama import modeling_llama
    except ImportError:
        raise MissingTool("Hugging Face transformers", "the Llama oracles of 'explainer verify'", HF_INSTALL) from None
    return modeling_llama


def require_transformers(names) -> None:
    """Fail before any work if a chosen derivation is verified against transformers and it is missing."""
    if any(name in NEEDS_TRANSFORMERS for name in names):
        transformers_llama()


def _versions() -> str:
    import transformers

    return f"transformers {transformers.__version__}, torch {torch.__version__}"


def _config(ctx: Context, **overrides):
    from transformers import LlamaConfig

    cfg = LlamaConfig(**{**TINY, **overrides})
    cfg._attn_implementation = "eager"  # eager attention returns its weights
    return cfg


def _randomize(module: torch.nn.Module, ctx: Context, offset: int, scale: float = 0.5) -> torch.nn.Module:
    """Every parameter of ``module`` seeded random (scale·N(0, 1)), in the run's device and dtype."""
    module = module.to(ctx.device, ctx.dtype).eval()
    with torch.no_grad():
        for k, (_, p) in enumerate(sorted(module.named_parameters())):
            p.copy_(scale * ctx.randn(*p.shape, offset=offset + k))
    return module


def _float32_floor(ctx: Context) -> str:
    """The tolerance dtype of an oracle that computes in float32: float32, or the run's if coarser."""
    return ctx.dtype_name if ctx.dtype in (torch.float16, torch.bfloat16) else "float32"


# --- rotary-positional-encoding ------------------------------------------------------------------
def _rope_rows(form, x: torch.Tensor, positions: torch.Tensor) -> np.ndarray:
    """The closed form on every row of x (..., n, d) with row t at ``positions[t]`` → (..., n, d)."""
    d = x.shape[-1]
    rows = x.reshape(-1, 1, d)
    pos = positions.to(x.device, torch.float64).repeat(rows.shape[0] // positions.numel())
    return batched(form, rows, pos).reshape(x.shape)


@check(ROPE)
def check_rotary(ctx: Context) -> list[Result]:
    llama = transformers_llama()
    from transformers.models.gptj import modeling_gptj

    from explainer.derivations.rotary import layout_permutation

    cfg, n, d = _config(ctx), 8, TINY["head_dim"]
    rope = llama.LlamaRotaryEmbedding(cfg).to(ctx.device)
    q, k = ctx.randn(1, 2, n, d, offset=101), ctx.randn(1, 2, n, d, offset=102)      # (B, heads, n, d)
    positions = torch.arange(n, device=ctx.device)
    cos, sin = rope(q, positions[None])
    q_rot, k_rot = llama.apply_rotary_pos_emb(q, k, cos, sin)
    half = closed_form(ROPE, "half_split", d=d, base=10000)
    tol, why = _float32_floor(ctx), "the module computes inv_freq and the angles in float32"
    rows = [compare.direct(ROPE, f"half-split RoPE vs LlamaRotaryEmbedding + apply_rotary_pos_emb (q and k, "
                           f"rope_theta 10000, head_dim {d}, positions 0–{n - 1})", ctx.info,
                           np.stack([_rope_rows(half, q, positions), _rope_rows(half, k, positions)]),
                           torch.stack([q_rot, k_rot]), dtype=tol, notes=f"{_versions()}; {why}")]
    sincos = modeling_gptj.create_sinusoidal_positions(n, d).to(ctx.device, ctx.dtype)   # (n, d): [sin | cos]
    sin_j, cos_j = sincos[None, :, : d // 2], sincos[None, :, d // 2:]
    x = q.transpose(1, 2)                                                               # (B, n, heads, d)
    gptj = modeling_gptj.apply_rotary_pos_emb(x, sin_j, cos_j)
    inter = closed_form(ROPE, "interleaved", d=d, base=10000)
    rows.append(compare.direct(ROPE, f"interleaved RoPE vs GPT-J's apply_rotary_pos_emb (rotate_every_two, "
                               f"positions 0–{n - 1})", ctx.info, _rope_rows(inter, q, positions).transpose(0, 2, 1, 3),
                               gptj, dtype=tol, notes=f"{_versions()}; create_sinusoidal_positions is float32"))
    order = [int(np.argmax(r)) for r in np.array(layout_permutation(d).tolist(), dtype=float)]
    llama_of_px = llama.apply_rotary_pos_emb(q[..., order], q[..., order], cos, sin)[0].transpose(1, 2)
    rows.append(compare.direct(ROPE, "layouts: Llama's rotate_half on P·x vs P·(GPT-J's rotation of x), P = the "
                               "derivation's evens-then-odds permutation", ctx.info, gptj[..., order], llama_of_px,
                               dtype=tol, notes="both sides are transformers' code"))
    shift = 9
    scores = []
    for start in (0, shift):                                   # the same q, k at positions p and p + shift
        moved = llama.apply_rotary_pos_emb(q, k, *rope(q, (positions + start)[None]))
        scores.append(moved[0] @ moved[1].transpose(-1, -2))                        # (B, heads, n, n)
    near, far = scores
    rows.append(compare.direct(ROPE, f"scores qᵀk at positions (m, n) vs (m + {shift}, n + {shift}), both from "
                               "LlamaRotaryEmbedding: the offset alone decides", ctx.info, to_numpy(near), far,
                               dtype=tol, notes=why))
    return rows


# --- grouped-query-attention -----------------------------------------------------------------------
def _flat_heads(x: torch.Tensor) -> torch.Tensor:
    """(B, heads, n, d) → (B, n, heads·d): heads side by side, as the derivation writes Q, K, V."""
    return x.transpose(1, 2).reshape(x.shape[0], x.shape[2], -1)


def _components(derivation: str, label: str, ctx: Context, expected: dict, actual: dict) -> Result:
    """Parameter counts compared component by component (exact); the notes list every component."""
    diff = sum(abs(int(expected[k]) - int(actual.get(k, 0))) for k in expected) + \
        sum(int(v) for k, v in actual.items() if k not in expected)
    notes = ", ".join(f"{k} {int(expected[k]):,} vs {int(actual.get(k, 0)):,}" for k in expected)
    return Result(derivation, label, ctx.info[0], "int64", float(diff), None, "exact, per component",
                  compare.PASSED if diff == 0 else compare.FAILED, notes)


@check(GQA)
def check_grouped_query_attention(ctx: Context) -> list[Result]:
    llama = transformers_llama()
    cfg, n = _config(ctx, hidden_size=16, head_dim=4), 3      # closed forms written out entry by entry: small
    h, g, dh, d = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim, cfg.hidden_size
    attn = _randomize(llama.LlamaAttention(cfg, layer_idx=0), ctx, offset=200)
    x = ctx.randn(1, n, d, offset=210)
    identity = (torch.ones(1, n, dh, device=ctx.device, dtype=ctx.dtype),
                torch.zeros(1, n, dh, device=ctx.device, dtype=ctx.dtype))  # RoPE by angle 0: q, k = projections
    with torch.no_grad():
        out, weights = attn(x, position_embeddings=identity, attention_mask=None)
        Q, K, V = attn.q_proj(x)[0], attn.k_proj(x)[0], attn.v_proj(x)[0]
    forms = dict(n=n, h=h, g=g, d_head=dh)
    heads = closed_form(GQA, "output", **forms)(Q, K, V)                               # (n, h·dh)
    expected = heads @ to_numpy(attn.o_proj.weight).T
    tol, why = _float32_floor(ctx), "eager attention takes its softmax in float32"
    rows = [compare.direct(GQA, f"GQA output vs LlamaAttention (eager, h = {h}, g = {g}, d_head = {dh}, {n} tokens, "
                           "random weights, RoPE angle 0)", ctx.info, expected, out[0], dtype=tol,
                           notes=f"{_versions()}; {why}"),
            compare.direct(GQA, "GQA attention weights vs LlamaAttention's (all heads)", ctx.info,
                           closed_form(GQA, "weights", **forms)(Q, K).reshape(h, n, n), weights[0], dtype=tol,
                           notes=why)]
    rows.append(_with_rope(llama, ctx, attn, x, forms))
    q, k, v = (ctx.randn(1, heads_, n, dh, offset=220 + j) for j, heads_ in enumerate((h, g, g)))
    sdpa = F.scaled_dot_product_attention(q, k, v, enable_gqa=True)
    rows.append(compare.direct(GQA, f"GQA output vs F.scaled_dot_product_attention(enable_gqa=True) "
                               f"(h = {h}, g = {g})", ctx.info,
                               closed_form(GQA, "output", **forms)(*(_flat_heads(t)[0] for t in (q, k, v))),
                               _flat_heads(sdpa)[0], notes=f"torch {torch.__version__}"))
    rows += [_attention_sizes(llama, ctx, "tiny config", cfg),
             _attention_sizes(llama, ctx, "Llama 3 8B's published config, meta device",
                              _config(ctx, **LLAMA3_8B))]
    return rows


def _with_rope(llama, ctx: Context, attn, x: torch.Tensor, forms: dict) -> Result:
    """LlamaAttention as Llama runs it, RoPE included, vs the two closed forms composed: GQA of the
    half-split rotations of Q and K (each head's row t turned by position t)."""
    n, h, g, dh = forms["n"], forms["h"], forms["g"], forms["d_head"]
    rope = llama.LlamaRotaryEmbedding(attn.config).to(ctx.device)
    positions = torch.arange(n, device=ctx.device)
    with torch.no_grad():
        out, _ = attn(x, position_embeddings=rope(x, positions[None]), attention_mask=None)
        Q, K, V = attn.q_proj(x)[0], attn.k_proj(x)[0], attn.v_proj(x)[0]
    half = closed_form(ROPE, "half_split", d=dh, base=attn.config.rope_parameters["rope_theta"])
    turned = [_rope_rows(half, M.reshape(n, -1, dh).transpose(0, 1), positions).transpose(1, 0, 2).reshape(n, -1)
              for M in (Q, K)]                                                          # (n, heads·dh)
    expected = closed_form(GQA, "output", **forms)(*turned, V) @ to_numpy(attn.o_proj.weight).T
    return compare.direct(GQA, f"GQA ∘ RoPE vs LlamaAttention with LlamaRotaryEmbedding (positions 0–{n - 1})",
                          ctx.info, expected, out[0], dtype=_float32_floor(ctx),
                          notes="inv_freq and eager attention's softmax are float32")


def _attention_sizes(llama, ctx: Context, label: str, cfg) -> Result:
    with torch.device("meta"):
        attn = llama.LlamaAttention(cfg, layer_idx=0)
    sizes = closed_form(GQA, "parameters", h=cfg.num_attention_heads, g=cfg.num_key_value_heads,
                        d_head=cfg.head_dim, d=cfg.hidden_size)()[0]
    expected = dict(zip(("q_proj", "k_proj", "v_proj", "o_proj"), sizes))
    actual = {name: sum(p.numel() for p in m.parameters()) for name, m in attn.named_children()
              if any(True for _ in m.parameters())}
    return _components(GQA, f"attention parameters vs LlamaAttention's modules ({label})", ctx, expected, actual)


# --- kv-cache --------------------------------------------------------------------------------------
def _tiny_model(ctx: Context, offset: int, dtype: torch.dtype | None = None):
    from transformers import LlamaForCausalLM

    model = _randomize(LlamaForCausalLM(_config(ctx)), ctx, offset, scale=0.3)
    return model.to(dtype or ctx.dtype)


def _matrix_weights(cfg) -> int:
    """N: weights of every matrix a token passes through (per layer attention and MLP, the LM head),
    from the gqa and swiglu counts: L·(2·d·d_head·(h + g) + 3·d·d_ff) + d·vocab."""
    d, dh, h, g = cfg.hidden_size, cfg.head_dim, cfg.num_attention_heads, cfg.num_key_value_heads
    return cfg.num_hidden_layers * (2 * d * dh * (h + g) + 3 * d * cfg.intermediate_size) + d * cfg.vocab_size


@check(KV)
def check_kv_cache(ctx: Context) -> list[Result]:
    transformers_llama()
    from torch.utils.flop_counter import FlopCounterMode

    model, n = _tiny_model(ctx, offset=300), 7
    cfg = model.config
    ids = torch.randint(0, cfg.vocab_size, (1, n), generator=torch.Generator().manual_seed(ctx.seed + 310))
    ids = ids.to(ctx.device)
    with torch.no_grad():
        full = model(ids, use_cache=False).logits[0]                                    # (n, vocab)
        cache, steps = None, []
        for pos in range(n):                                                           # one token at a time
            out = model(ids[:, pos:pos + 1], cache=cache, use_cache=True)
            cache = out.cache
            steps.append(out.logits[0, 0])
        prefix = model(ids[:, : n - 1], use_cache=True).cache
        counter = FlopCounterMode(display=False)
        with counter:
            model(ids[:, n - 1:], cache=prefix, use_cache=True)
        greedy = [model.generate(ids, max_new_tokens=8, do_sample=False, use_cache=use, pad_token_id=0)[0]
                  for use in (True, False)]
    forms = closed_form(KV, "cache_bytes", layers=cfg.num_hidden_layers, kv_heads=cfg.num_key_value_heads,
                        heads=cfg.num_attention_heads, head_dim=cfg.head_dim, weights=_matrix_weights(cfg))
    flops = closed_form(KV, "flops_cached", layers=cfg.num_hidden_layers, kv_heads=cfg.num_key_value_heads,
                        heads=cfg.num_attention_heads, head_dim=cfg.head_dim, weights=_matrix_weights(cfg))
    stored = sum(t.numel() * t.element_size() for layer in cache.layers for t in (layer.keys, layer.values))
    element = cache.layers[0].keys.element_size()
    mismatched = int((greedy[0] != greedy[1]).sum()) if greedy[0].shape == greedy[1].shape else len(greedy[0])
    return [
        compare.direct(KV, f"logits decoding one token at a time with the cache vs one pass without "
                       f"(LlamaForCausalLM, {cfg.num_hidden_layers} layers, {n} tokens, random weights)", ctx.info,
                       to_numpy(full), torch.stack(steps), notes=_versions()),
        compare.exact(KV, "greedy generate(use_cache=True) vs generate(use_cache=False): tokens that differ",
                      ctx.info[0], 0, mismatched, notes=f"{len(greedy[0]) - n} new tokens"),
        compare.exact(KV, f"cache bytes 2·L·g·d_head·T·b vs the DynamicCache's tensors ({n} tokens, "
                      f"{element} bytes each)", ctx.info[0], int(forms(n, element)), stored),
        compare.exact(KV, f"FLOPs of the token at position {n - 1} (attending to {n} keys) with the cache vs FlopCounterMode (matrix products)",
                      ctx.info[0], int(flops(n)), counter.get_total_flops(),
                      notes=f"torch {torch.__version__}; N = {_matrix_weights(cfg):,} from the gqa and swiglu counts"),
    ]


# --- rms-norm --------------------------------------------------------------------------------------
def _rms_rows(form, x: torch.Tensor, weight: torch.Tensor, eps: float) -> np.ndarray:
    out = form(rows_last(x[:, None, :]), weight, eps)                                  # (1, d, N)
    return np.moveaxis(out, -1, 0).reshape(x.shape)


@check(RMS)
def check_rms_norm(ctx: Context) -> list[Result]:
    llama = transformers_llama()
    d, eps = 16, 1e-6
    form = closed_form(RMS, "rms_norm", d=d)
    x = 3 * ctx.randn(6, d, offset=401) + 1                                            # mean ≠ 0: a shift matters
    torch_norm = _randomize(torch.nn.RMSNorm(d, eps=eps), ctx, offset=402)
    hf_norm = _randomize(llama.LlamaRMSNorm(d, eps=eps), ctx, offset=403)
    with torch.no_grad():
        return [
            compare.direct(RMS, f"RMSNorm vs torch.nn.RMSNorm({d}, eps={eps:g}) with a random weight (6 rows)",
                           ctx.info, _rms_rows(form, x, torch_norm.weight, eps), torch_norm(x),
                           notes=f"torch {torch.__version__}"),
            compare.direct(RMS, f"RMSNorm vs LlamaRMSNorm({d}, eps={eps:g}) with a random weight (6 rows)",
                           ctx.info, _rms_rows(form, x, hf_norm.weight, eps), hf_norm(x),
                           dtype=_float32_floor(ctx), notes=f"{_versions()}; LlamaRMSNorm computes in float32"),
        ]


# --- swiglu ----------------------------------------------------------------------------------------
@check(SWIGLU)
def check_swiglu(ctx: Context) -> list[Result]:
    llama = transformers_llama()
    from transformers import LlamaConfig

    from explainer.derivations.swiglu import llama_hidden

    d, d_ff = 8, 16
    mlp = _randomize(llama.LlamaMLP(_config(ctx, hidden_size=d, intermediate_size=d_ff)), ctx, offset=500)
    x = ctx.randn(6, d, offset=510)
    ffn = closed_form(SWIGLU, "ffn", d=d, d_ff=d_ff)
    with torch.no_grad():
        expected = ffn(rows_last(x[:, :, None]), mlp.gate_proj.weight, mlp.down_proj.weight, mlp.up_proj.weight)
        actual = mlp(x)
    z = torch.linspace(-8, 8, 161, device=ctx.device, dtype=ctx.dtype, requires_grad=True)
    (grad,) = torch.autograd.grad(F.silu(z).sum(), z)
    silu = closed_form(SWIGLU, "silu", d=d, d_ff=d_ff)
    slope = closed_form(SWIGLU, "silu_grad", d=d, d_ff=d_ff)
    per_matrix = {name: getattr(mlp, name).weight.numel() for name in ("gate_proj", "up_proj", "down_proj")}
    total = int(closed_form(SWIGLU, "parameters", d=d, d_ff=d_ff)())
    return [
        compare.direct(SWIGLU, f"W₂(SiLU(W₁x) ⊙ W₃x) vs LlamaMLP (d = {d}, d_ff = {d_ff}, random weights, 6 rows)",
                       ctx.info, np.moveaxis(expected, -1, 0).reshape(6, d), actual, notes=_versions()),
        compare.direct(SWIGLU, "SiLU vs F.silu on [−8, 8]", ctx.info, silu(z.detach()), F.silu(z.detach())),
        compare.direct(SWIGLU, "SiLU′ = σ(z)(1 + z(1 − σ(z))) vs autograd of F.silu on [−8, 8]", ctx.info,
                       slope(z.detach()), grad),
        _components(SWIGLU, "parameters 3·d·d_ff vs LlamaMLP's modules", ctx,
                    {name: total // 3 for name in per_matrix}, per_matrix),
        compare.exact(SWIGLU, "Llama's rounding for d = 4096, multiple 256 vs LlamaConfig()'s default "
                      "intermediate_size (Llama 2 7B)", "-", llama_hidden(4096, 256), LlamaConfig().intermediate_size),
        compare.exact(SWIGLU, "Llama's rounding for d = 4096, × 1.3, multiple 1024 vs Meta-Llama-3-8B's published "
                      "intermediate_size", "-", llama_hidden(4096, 1024, 1.3), LLAMA3_8B["intermediate_size"],
                      notes="config.json of meta-llama/Meta-Llama-3-8B on the Hugging Face hub: 14336"),
    ]
