"""Checks against the code people run: Hugging Face transformers modules and PyTorch's own functions.

Every transformers module is built from a small config (never ``from_pretrained``: nothing is downloaded)
and then every one of its parameters is overwritten with seeded random non-zero values
(:func:`randomize`): zero biases or unit norm gains at initialisation would hide a missing term. Each
check also runs a planted wrong formula (the other block order, a merge without rescaling, a loss
averaged the wrong way) and requires the oracle to reject it, so an oracle that cannot disagree fails.

    pre-vs-post-layernorm   GPT2Block (pre-LN), BertLayer (post-LN), a 3-block GPT2Model stack unrolled
    online-softmax          tiles merged with ``merge`` vs F.scaled_dot_product_attention, plain and causal
    training-flops          FlopCounterMode around GPT2LMHeadModel's forward and backward
    distillation            autograd through nn.KLDivLoss(batchmean) at several T; DistilBertModel's size
    masked-language-modeling  BertForMaskedLM's loss with -100 labels
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from explainer.numeric import compare
from explainer.numeric.checks.base import Context, check
from explainer.numeric.compare import ASSERT_CLOSE, FAILED, PASSED, Result, closed_form

PRE, ONLINE, FLOPS, DISTIL, MLM = ("pre-vs-post-layernorm", "online-softmax", "training-flops", "distillation",
                                   "masked-language-modeling")
WIDTH, HEADS, VOCAB, LAYERS = 32, 4, 64, 3  # the small configs every transformers module here is built from
SCALE = 0.2                                  # std of the random parameters (norm gains: 1 + SCALE·N(0, 1))
INSTALL = "transformers is not installed (pip install 'transformer-math-explainer[hf]')"


def _transformers():
    try:
        import transformers
    except ImportError:
        return None
    transformers.logging.set_verbosity_error()
    return transformers


def _version(tf=None) -> str:
    return f"transformers {tf.__version__}" if tf is not None else f"torch {torch.__version__}"


def randomize(module: nn.Module, ctx: Context, offset: int, dtype: torch.dtype | None = None) -> nn.Module:
    """Every parameter seeded random and non-zero: weights and biases SCALE·N(0, 1), LayerNorm gains
    1 + SCALE·N(0, 1); drawn in float64 on the CPU so every device and dtype gets the same values.
    Returns the module in eval mode on the run's device, in ``dtype`` (default: the run's)."""
    gen = torch.Generator().manual_seed(ctx.seed * 1000 + offset)
    module = module.to(dtype=torch.float64)
    with torch.no_grad():
        for name, p in module.named_parameters():
            owner = module.get_submodule(name.rpartition(".")[0]) if "." in name else module
            noise = SCALE * torch.randn(p.shape, generator=gen, dtype=torch.float64)
            gain = isinstance(owner, nn.LayerNorm) and name.endswith("weight")
            p.copy_(1 + noise if gain else noise)
    return module.to(device=ctx.device, dtype=dtype or ctx.dtype).eval()


def inputs(ctx: Context, *shape: int, offset: int, dtype: torch.dtype, scale: float = 1.0) -> torch.Tensor:
    """Seeded N(0, scale²) drawn in float64 and rounded to ``dtype``: the same numbers in every dtype."""
    return (scale * ctx.randn(*shape, offset=offset, dtype=torch.float64)).to(dtype)


def judge(derivation: str, label: str, ctx: Context, pair) -> Result:
    """``pair(dtype) -> (formula, oracle)`` compared at the run's dtype: assert_close's defaults in float32
    and float64; in float16/bfloat16 PyTorch's rule for fused kernels — both sides rounded differently, so
    the oracle must be within 4× the formula's own error against the float64 golden value."""
    expected, actual = pair(ctx.dtype)
    if ctx.dtype in (torch.float16, torch.bfloat16):
        golden, _ = pair(torch.float64)
        return compare.fused(derivation, label, ctx.info[0], ctx.dtype_name, golden, actual, expected)
    return compare.direct(derivation, label, ctx.info, expected, actual)


def _nonzero(derivation: str, label: str, module: nn.Module, ctx: Context) -> Result:
    """How many parameter entries are exactly 0 (must be none): the planted-zero-bias guard."""
    zeros = sum(int((p == 0).sum()) for p in module.parameters())
    total = sum(p.numel() for p in module.parameters())
    return compare.exact(derivation, f"{label}: parameter entries equal to 0", ctx.info[0], 0, zeros,
                         notes=f"{zeros} of {total:,} entries are 0")


def rejects(derivation: str, label: str, info: tuple[str, str], wrong, actual) -> Result:
    """A planted wrong formula must be *outside* the tolerance the right one is held to (run in float64:
    it tests the formula, not the precision)."""
    device, dtype = info
    rtol, atol = ASSERT_CLOSE[dtype]
    abs_err, rel_err = compare.errors(wrong, actual)
    caught = not compare.within(wrong, actual, rtol, atol)
    return Result(derivation, f"planted: {label} is rejected", device, dtype, abs_err, rel_err,
                  f"must exceed rtol {rtol:g}, atol {atol:g}", PASSED if caught else FAILED,
                  "the oracle tells it apart" if caught else "the oracle cannot tell the wrong formula apart")


def _skip(derivation: str, label: str, ctx: Context) -> list[Result]:
    return [compare.skipped(derivation, label, ctx.info, INSTALL)]


def _out(y):
    """A module's main output (transformers blocks return a tensor or a tuple)."""
    return y[0] if isinstance(y, tuple) else y


# --- pre-LN and post-LN blocks ---------------------------------------------------------------------------
def _gpt2_config(tf, **sizes):
    config = tf.GPT2Config(n_embd=WIDTH, n_head=HEADS, n_layer=LAYERS, n_positions=64, vocab_size=VOCAB,
                           resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=0, eos_token_id=0, **sizes)
    config._attn_implementation = "eager"
    return config


def _bert_config(tf):
    config = tf.BertConfig(hidden_size=WIDTH, num_attention_heads=HEADS, num_hidden_layers=2, intermediate_size=64,
                           vocab_size=VOCAB, max_position_embeddings=64, hidden_dropout_prob=0.0,
                           attention_probs_dropout_prob=0.0, pad_token_id=0)
    config._attn_implementation = "eager"
    return config


def pre_ln(block, x):
    """x + Attn(LN₁ x), then h + MLP(LN₂ h): the derivation's pre-LN order on GPT2Block's own sublayers."""
    h = x + _out(block.attn(block.ln_1(x)))
    return h + block.mlp(block.ln_2(h))


def post_ln_gpt2(block, x):
    """The post-LN order on the same sublayers (the planted wrong order for GPT-2)."""
    h = block.ln_1(x + _out(block.attn(x)))
    return block.ln_2(h + block.mlp(h))


def post_ln(layer, x):
    """LN(x + Attn(x)), then LN(h + FFN(h)): the post-LN order on BertLayer's own sublayers."""
    att = layer.attention
    h = att.output.LayerNorm(att.output.dense(_out(att.self(x))) + x)
    return layer.output.LayerNorm(layer.output.dense(layer.intermediate(h)) + h)


def pre_ln_bert(layer, x):
    """The pre-LN order on BertLayer's sublayers (the planted wrong order for BERT)."""
    att = layer.attention
    h = x + att.output.dense(_out(att.self(att.output.LayerNorm(x))))
    return h + layer.output.dense(layer.intermediate(layer.output.LayerNorm(h)))


@check(PRE)
def check_block_orders(ctx: Context) -> list[Result]:
    tf = _transformers()
    if tf is None:
        return _skip(PRE, "GPT2Block and BertLayer", ctx)
    gpt2 = lambda dtype: randomize(tf.models.gpt2.modeling_gpt2.GPT2Block(_gpt2_config(tf), layer_idx=0),  # noqa: E731
                                   ctx, 202, dtype)
    bert = lambda dtype: randomize(tf.models.bert.modeling_bert.BertLayer(_bert_config(tf)),  # noqa: E731
                                   ctx, 203, dtype)
    x = lambda dtype: inputs(ctx, 2, 7, WIDTH, offset=201, dtype=dtype, scale=2.0)  # noqa: E731

    def order(build, formula):
        def pair(dtype):
            module, xs = build(dtype), x(dtype)
            return formula(module, xs), _out(module(xs))
        return pair

    f64 = torch.float64
    with torch.no_grad():
        return [_nonzero(PRE, "GPT2Block", gpt2(ctx.dtype), ctx), _nonzero(PRE, "BertLayer", bert(ctx.dtype), ctx),
                judge(PRE, f"pre-LN x + F(LN x) on its sublayers vs GPT2Block ({_version(tf)})", ctx,
                      order(gpt2, pre_ln)),
                rejects(PRE, "post-LN order for GPT2Block", (ctx.info[0], "float64"), *order(gpt2, post_ln_gpt2)(f64)),
                judge(PRE, f"post-LN LN(x + F(x)) on its sublayers vs BertLayer ({_version(tf)})", ctx,
                      order(bert, post_ln)),
                rejects(PRE, "pre-LN order for BertLayer", (ctx.info[0], "float64"), *order(bert, pre_ln_bert)(f64)),
                judge(PRE, f"unrolled x₀ + Σ G_l(x_l) vs {LAYERS} GPT2Model blocks ({_version(tf)})", ctx,
                      lambda dtype: _unrolled(tf, ctx, x(dtype), dtype))]


def _unrolled(tf, ctx: Context, x0, dtype):
    """(x₀ + Σ_l G_l(x_l) with G_l from block l's sublayers, GPT2Model's 3 blocks applied in turn)."""
    model = randomize(tf.GPT2Model(_gpt2_config(tf)), ctx, 204, dtype)
    stream, total = x0, x0
    for block in model.h:
        total = total + (pre_ln(block, stream) - stream)  # G_l(x_l): attention and MLP outputs of block l
        stream = _out(block(stream))                      # the oracle: GPT2Block's forward, block after block
    return total, stream


# --- online softmax --------------------------------------------------------------------------------------
def streamed(q, k, v, tile: int, causal: bool):
    """Attention one key tile at a time with the derivation's ``merge``; returns (m, ℓ, o)."""
    from explainer.derivations.online_softmax import merge

    scale = q.shape[-1] ** -0.5
    state = None
    for start in range(0, k.shape[-2], tile):
        s = (q @ k[..., start:start + tile, :].transpose(-1, -2)) * scale          # (…, n, b)
        if causal:
            keys = torch.arange(start, start + s.shape[-1], device=q.device)
            s = s.masked_fill(keys[None, :] > torch.arange(q.shape[-2], device=q.device)[:, None], float("-inf"))
        m = s.amax(dim=-1, keepdim=True)                                            # (…, n, 1)
        w = torch.exp(s - torch.where(m == float("-inf"), 0.0, m))                  # a fully masked row: w = 0
        ell = w.sum(dim=-1, keepdim=True)
        o = torch.where(ell > 0, (w @ v[..., start:start + tile, :]) / ell, 0.0)    # (−∞, 0, 0): adds nothing
        block = (m, ell, o)
        state = block if state is None else merge(*state, *block, exp=torch.exp, maximum=torch.maximum)
    return state


@check(ONLINE)
def check_online_softmax(ctx: Context) -> list[Result]:
    from explainer.derivations.online_softmax import merge

    qkv = lambda dtype: [inputs(ctx, 2, 37, 16, offset=210 + i, dtype=dtype, scale=2.0) for i in range(3)]  # noqa: E731

    def tiles(causal):
        def pair(dtype):
            q, k, v = qkv(dtype)
            return (streamed(q, k, v, tile=8, causal=causal)[2],
                    F.scaled_dot_product_attention(q, k, v, is_causal=causal, dropout_p=0.0))
        return pair

    rows = [judge(ONLINE, f"merged tiles of 8 keys vs F.scaled_dot_product_attention (is_causal={causal}, "
                  f"{_version()})", ctx, tiles(causal)) for causal in (False, True)]
    q, k, v = qkv(torch.float64)
    info = (ctx.info[0], "float64")
    scores = q @ k.transpose(-1, -2) / 4.0
    m, ell, o = streamed(q, k, v, tile=8, causal=False)
    top = scores.amax(-1, keepdim=True)
    rows.append(compare.direct(ONLINE, "running max m and sum ℓ vs max and Σ exp(s − max) of the full scores",
                               info, torch.cat([m, ell], -1),
                               torch.cat([top, torch.exp(scores - top).sum(-1, keepdim=True)], -1)))
    rows.append(compare.direct(ONLINE, "merged tiles vs softmax(QKᵀ/√d)·V written out (torch.softmax)", info,
                               o, torch.softmax(scores, -1) @ v))
    half = 18
    a, b = (streamed(q, k[..., sl, :], v[..., sl, :], tile=64, causal=False)
            for sl in (slice(0, half), slice(half, None)))
    unscaled = (a[1] * a[2] + b[1] * b[2]) / (a[1] + b[1])
    rows.append(rejects(ONLINE, "a merge without the e^{mᵢ − m} rescaling", info, unscaled,
                        F.scaled_dot_product_attention(q, k, v, dropout_p=0.0)))
    rows.append(compare.direct(ONLINE, "two halves merged once vs SDPA (the two-block case proved)", info,
                               merge(*a, *b, exp=torch.exp, maximum=torch.maximum)[2],
                               F.scaled_dot_product_attention(q, k, v, dropout_p=0.0)))
    return rows


# --- training FLOPs --------------------------------------------------------------------------------------
@check(FLOPS)
def check_training_flops(ctx: Context) -> list[Result]:
    tf = _transformers()
    if tf is None:
        return _skip(FLOPS, "FlopCounterMode around GPT2LMHeadModel", ctx)
    forward, backward = closed_form(FLOPS, "forward"), closed_form(FLOPS, "backward")
    config = _gpt2_config(tf)
    model = randomize(tf.GPT2LMHeadModel(config), ctx, 220)
    L, d, V = config.n_layer, config.n_embd, config.vocab_size
    n_weights = 12 * L * d * d + V * d          # matmul weights: 4d² attention + 8d² MLP per layer, the d × V head
    rows = []
    for batch, length in ((2, 16), (1, 64)):
        ids = torch.randint(0, V, (batch, length), generator=torch.Generator().manual_seed(221)).to(ctx.device)
        with FlopCounterMode(display=False) as fwd:
            logits = model(input_ids=ids).logits
        with FlopCounterMode(display=False) as bwd:
            logits.float().square().mean().backward()
        tokens = batch * length
        label = f"(B = {batch}, n = {length}, L = {L}, d = {d}, V = {V}; GPT2LMHeadModel, {_version(tf)})"
        rows.append(compare.exact(FLOPS, f"forward (2N + 4Lnd)·tokens vs FlopCounterMode {label}", ctx.info[0],
                                  round(float(forward(n_weights, L, length, d))) * tokens, fwd.get_total_flops()))
        rows.append(compare.exact(FLOPS, f"backward 2 × forward vs FlopCounterMode {label}", ctx.info[0],
                                  round(float(backward(n_weights, L, length, d))) * tokens, bwd.get_total_flops()))
        rows.append(rejects(FLOPS, f"a backward costing 1 × forward {label}", (ctx.info[0], "float64"),
                            np.array([float(forward(n_weights, L, length, d)) * tokens]),
                            np.array([float(bwd.get_total_flops())])))
        model.zero_grad(set_to_none=True)
    return rows


# --- distillation -----------------------------------------------------------------------------------------
@check(DISTIL)
def check_distillation(ctx: Context) -> list[Result]:
    rows = [judge(DISTIL, f"∂/∂z of nn.KLDivLoss(batchmean) = (p(T) − q(T))/(T·B) at T = {T:g} (autograd, "
                  f"{_version()})", ctx, lambda dtype, T=T: _soft_gradient(ctx, T, dtype)) for T in (1.0, 2.0, 8.0)]
    T = 1000.0
    z, v = (inputs(ctx, 4, 10, offset=230 + i, dtype=torch.float64, scale=1.0 + i) for i in range(2))
    centred = ((z - z.mean(-1, keepdim=True)) - (v - v.mean(-1, keepdim=True))) / z.numel()
    scaled = T**2 * _soft_gradient(ctx, T, torch.float64)[1]
    abs_err, rel_err = compare.errors(centred, scaled)
    rows.append(Result(DISTIL, "T²·gradient at T = 1000 vs its limit ((z − z̄) − (v − v̄))/(K·B)", ctx.info[0],
                       "float64", abs_err, rel_err, "rtol 1e-2, atol 1e-4 (the limit is approached as O(1/T))",
                       PASSED if compare.within(centred, scaled, 1e-2, 1e-4) else FAILED))
    without, grad = _soft_gradient(ctx, 2.0, torch.float64)
    rows.append(rejects(DISTIL, "a gradient without the 1/T, (p(T) − q(T))/B at T = 2", (ctx.info[0], "float64"),
                        2.0 * without, grad))
    tf = _transformers()
    if tf is None:
        return rows + _skip(DISTIL, "DistilBertModel and BertModel parameter counts", ctx)
    rows += _distilbert_counts(tf)
    return rows


def _soft_gradient(ctx: Context, T: float, dtype: torch.dtype):
    """((p(T) − q(T))/(T·B), autograd's ∂/∂z of nn.KLDivLoss(batchmean)(log p(T), q(T))) for seeded logits."""
    z, v = (inputs(ctx, 4, 10, offset=230 + i, dtype=dtype, scale=1.0 + i) for i in range(2))
    student = z.clone().requires_grad_(True)
    loss = nn.KLDivLoss(reduction="batchmean")(F.log_softmax(student / T, dim=-1), F.softmax(v / T, dim=-1))
    (grad,) = torch.autograd.grad(loss, student)
    return (F.softmax(z / T, -1) - F.softmax(v / T, -1)) / (T * z.shape[0]), grad


def _distilbert_counts(tf) -> list[Result]:
    """P_DistilBERT and P_BERT − P_DistilBERT from the derivation vs DistilBertModel and BertModel on meta."""
    import sympy as sp

    from explainer.derivations import distillation as ds

    with torch.device("meta"):
        bert = sum(p.numel() for p in tf.BertModel(tf.BertConfig()).parameters())
        distil = sum(p.numel() for p in tf.DistilBertModel(tf.DistilBertConfig()).parameters())
    sizes = ds.BERT_BASE
    formula = int(sp.Add(*ds.DISTILBERT_PARTS.values()).xreplace({**sizes, ds.L: sizes[ds.L] // 2}))
    removed = int(sp.Add(*ds.BERT_PARTS.values()).xreplace(sizes)) - formula
    where = f"config-class defaults, on meta, {_version(tf)}"
    return [compare.exact(DISTIL, f"P_DistilBERT (half the layers, no token types, no pooler) vs DistilBertModel "
                          f"({where})", "meta", formula, distil),
            compare.exact(DISTIL, f"P_BERT − P_DistilBERT vs BertModel − DistilBertModel ({where})", "meta",
                          removed, bert - distil)]


# --- masked-language-modeling loss -----------------------------------------------------------------------
def masked_mean_loss(logits: np.ndarray, labels: np.ndarray) -> float:
    """L = Σₜ mₜ ℓₜ / Σₜ mₜ, ℓₜ = logsumexp(zₜ) − zₜ[yₜ], mₜ = 1 where the label is not −100."""
    selected = labels != -100
    z = logits[selected]
    top = z.max(-1, keepdims=True)
    lse = (top + np.log(np.exp(z - top).sum(-1, keepdims=True)))[:, 0]
    return float((lse - z[np.arange(len(z)), labels[selected]]).sum() / selected.sum())


@check(MLM)
def check_masked_lm_loss(ctx: Context) -> list[Result]:
    tf = _transformers()
    if tf is None:
        return _skip(MLM, "BertForMaskedLM loss with -100 labels", ctx)
    gen = torch.Generator().manual_seed(241)
    ids = torch.randint(5, VOCAB, (3, 12), generator=gen)
    selected = torch.rand(3, 12, generator=gen) < 0.15
    selected[:, 0] = True                          # at least one per row
    selected[0, 1:6] = True                        # rows with different counts: a per-row mean would differ
    labels = torch.where(selected, ids, torch.full_like(ids, -100))
    masked = torch.where(selected, torch.full_like(ids, 4), ids)   # 4 stands for [MASK]
    lab = labels.numpy()

    def run(dtype):
        model = randomize(tf.BertForMaskedLM(_bert_config(tf)), ctx, 240, dtype)
        with torch.no_grad():
            out = model(input_ids=masked.to(ctx.device), labels=labels.to(ctx.device))
        return model, compare.to_numpy(out.logits), out.loss.reshape(1)

    def pair(dtype):
        _, logits, loss = run(dtype)
        return np.array([masked_mean_loss(logits, lab)]), loss

    model, logits, loss = run(torch.float64)
    info = (ctx.info[0], "float64")
    everywhere = masked_mean_loss(logits, ids.numpy())
    per_row = np.mean([masked_mean_loss(logits[b:b + 1], lab[b:b + 1]) for b in range(lab.shape[0])])
    return [_nonzero(MLM, "BertForMaskedLM", model, ctx),
            judge(MLM, f"Σ mₜℓₜ/Σ mₜ over {int(selected.sum())} selected positions vs BertForMaskedLM loss with -100 "
                  f"labels ({_version(tf)})", ctx, pair),
            rejects(MLM, "the mean over every position", info, np.array([everywhere]), loss),
            rejects(MLM, "the mean of per-sequence means", info, np.array([per_row]), loss)]
