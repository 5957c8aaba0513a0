r"""Model sizes and cost: how many parameters a decoder has, what it takes to hold them, and what
one attention layer costs.

    GPT-2:  P = V d + n_ctx d + L (12 d² + 13 d) + 2 d
    Llama:  P = 2 V d + L (2 d² + 2 d² h_kv/h + 3 d d_ff + 2 d) + d
    training memory (mixed precision + Adam) = 16 bytes × P
    attention FLOPs = 8 n d² + 4 n² d,  score memory = h n² entries

Counting convention (written out because tools disagree): every distinct weight tensor is counted
once — token embeddings, learned position embeddings, all norms and biases; a head tied to the
token embeddings adds nothing. FLOPs count a multiply-add as 2, as
``torch.utils.flop_counter.FlopCounterMode`` counts a matmul ``(m×k)(k×n)``: ``2·m·k·n``.

The expressions below are the single source of truth: ``explainer size`` (``explainer/sizes.py``)
evaluates them for concrete configurations.
"""
from __future__ import annotations

from dataclasses import replace

import sympy as sp

from explainer.model import Derivation, Step, Symbol, define, prove
from explainer.notation import Named
from explainer.registry import derivation

# Sizes: positive integers named as the numeric engine expects, printed in LaTeX as papers write them.
_size = {"integer": True, "positive": True}
L = Named("n_layers", "L", **_size)
d = Named("d_model", "d", **_size)
V = Named("vocab", "V", **_size)
n_ctx = Named("n_ctx", r"n_{\text{ctx}}", **_size)
h = Named("n_heads", "h", **_size)
h_kv = Named("n_kv_heads", r"h_{\text{kv}}", **_size)
d_ff = Named("d_ff", r"d_{\text{ff}}", **_size)
n = sp.Symbol("n", **_size)

#: The sizes as the derivations print them (L, d, V, h, h_kv, as papers write them); the expressions in
#: this module keep the names above, which the numeric engine and ``explainer size`` expect.
SHOWN = {L: Named("L", "L", **_size), d: Named("d", "d", **_size), V: Named("V", "V", **_size),
         h: Named("h", "h", **_size), h_kv: Named("h_kv", r"h_{\text{kv}}", **_size)}

# --- GPT-2 (pre-LN, learned positions, LayerNorm, GELU MLP with biases, head tied to W_E) ----------
GPT2_ATTENTION = 4 * d**2 + 4 * d            # fused W_QKV (d × 3d) + b, W_O (d × d) + b
GPT2_MLP = 2 * d * d_ff + d_ff + d           # W_1 (d × d_ff) + b_1, W_2 (d_ff × d) + b_2
LAYERNORM = 2 * d                            # gain γ and bias β
GPT2_BLOCK = GPT2_ATTENTION + GPT2_MLP + 2 * LAYERNORM
GPT2_FF = 4 * d                              # GPT-2's hidden width

#: Parameters of a GPT-2-style decoder by component (``d_ff`` free; GPT-2 itself uses 4d).
GPT2_PARTS = {
    "embeddings": V * d,
    "positions": n_ctx * d,
    "attention": L * GPT2_ATTENTION,
    "mlp": L * GPT2_MLP,
    "norms": L * 2 * LAYERNORM + LAYERNORM,
    "head": sp.Integer(0),
}
GPT2_TOTAL = V * d + n_ctx * d + L * (12 * d**2 + 13 * d) + 2 * d  # with d_ff = 4d

# --- Llama (pre-norm RMSNorm, rotary positions, SwiGLU MLP, grouped-query attention, no biases) ---
D_HEAD = d / h
LLAMA_ATTENTION = 2 * d**2 + 2 * d**2 * h_kv / h  # W_Q, W_O (d × d); W_K, W_V (d × h_kv d/h)
LLAMA_MLP = 3 * d * d_ff                          # gate and up (d × d_ff), down (d_ff × d)
RMSNORM = d                                       # gain only
LLAMA_BLOCK = LLAMA_ATTENTION + LLAMA_MLP + 2 * RMSNORM

#: Parameters of a Llama-style decoder by component (rotary positions have no parameters).
LLAMA_PARTS = {
    "embeddings": V * d,
    "positions": sp.Integer(0),
    "attention": L * LLAMA_ATTENTION,
    "mlp": L * LLAMA_MLP,
    "norms": L * 2 * RMSNORM + RMSNORM,
    "head": V * d,
}
LLAMA_TOTAL = 2 * V * d + L * (2 * d**2 + 2 * d**2 * h_kv / h + 3 * d * d_ff + 2 * d) + d

# --- memory: bytes per parameter -----------------------------------------------------------------
#: Mixed-precision training with Adam, bytes per parameter, in the order a trainer allocates them.
ADAM_BYTES = {"fp16/bf16 weights": 2, "fp16/bf16 gradients": 2, "fp32 master weights": 4,
              "fp32 Adam moment m": 4, "fp32 Adam moment v": 4}
#: Bytes per parameter of each way to hold a model.
BYTES_PER_PARAMETER = {"fp32 weights": sp.Integer(4), "fp16/bf16 weights": sp.Integer(2),
                       "mixed precision + Adam": sp.Add(*ADAM_BYTES.values())}
GPU_BYTES = 80 * 10**9  # an "80 GB" accelerator, decimal gigabytes

# --- one attention layer, one sequence (batch 1) -------------------------------------------------
PROJECTION_FLOPS = 4 * 2 * n * d**2   # X W_Q, X W_K, X W_V, C W_O: (n × d)(d × d) each
SCORE_FLOPS = 2 * n**2 * d            # h heads × Q_i K_iᵀ: (n × d/h)(d/h × n)
WEIGHTED_SUM_FLOPS = 2 * n**2 * d     # h heads × A_i V_i: (n × n)(n × d/h)
ATTENTION_FLOPS = PROJECTION_FLOPS + SCORE_FLOPS + WEIGHTED_SUM_FLOPS
SCORE_ENTRIES = h * n**2              # one n × n matrix per head


def gpus_needed(bytes_needed, gpu_bytes=GPU_BYTES):
    """⌈bytes / gpu_bytes⌉: how many accelerators it takes just to hold ``bytes_needed``."""
    return sp.ceiling(sp.sympify(bytes_needed) / gpu_bytes)


def _shown(e):
    """``e`` with the sizes renamed as the derivations print them (:data:`SHOWN`), rebuilt without
    evaluating, so a sum or product written out unevaluated stays as written."""
    if e is None:
        return None
    e = sp.sympify(e)
    if e in SHOWN:
        return SHOWN[e]
    args = tuple(_shown(a) for a in e.args)
    if args == e.args:
        return e
    try:
        return e.func(*args, evaluate=False)
    except TypeError:  # a class that always builds as given (Subs, Limit, Tuple, …)
        return e.func(*args)


def _show_step(step: Step) -> Step:
    """The same step, printed with the short size names."""
    return replace(step, lhs=_shown(step.lhs), rhs=_shown(step.rhs),
                   where=tuple((_shown(a), _shown(b)) for a, b in step.where))


def _show_symbol(symbol: Symbol) -> Symbol:
    return replace(symbol, symbol=_shown(symbol.symbol))


def _ratio(top, bottom):
    """``top / bottom`` left unevaluated, so a reader sees what is divided by what."""
    return sp.Mul(top, sp.Pow(bottom, -1, evaluate=False), evaluate=False)


def _int(value) -> str:
    """An exact integer with thousands separators: ``124,439,808``."""
    return f"{int(value):,}"


def _times(*factors):
    """An unevaluated product, printed as written (``12·768``)."""
    return sp.Mul(*map(sp.sympify, factors), evaluate=False)


def _plus(*terms):
    """An unevaluated sum, printed as written."""
    return sp.Add(*map(sp.sympify, terms), evaluate=False)


#: GPT-2 small as published (openai/gpt-2 hparams): the worked example.
GPT2_SMALL = {L: 12, d: 768, V: 50257, n_ctx: 1024, h: 12}
#: GPT-3 175B as published (Brown et al. 2020, table 2.1), with GPT-2's vocabulary.
GPT3 = {L: 96, d: 12288, V: 50257, n_ctx: 2048, h: 96}


@derivation("parameter-count", "Counting parameters and the memory to train them", "model-size")
def parameter_count() -> Derivation:
    P_emb = Named("P_emb", r"P_{\text{emb}}")
    P_pos = Named("P_pos", r"P_{\text{pos}}")
    P_attn = Named("P_attn", r"P_{\text{attn}}")
    P_mlp = Named("P_mlp", r"P_{\text{mlp}}")
    P_ln = Named("P_LN", r"P_{\text{LN}}")
    P_block = Named("P_block", r"P_{\text{block}}")
    P_gpt2 = Named("P_GPT2", r"P_{\text{GPT-2}}")
    P_gqa = Named("P_GQA", r"P_{\text{GQA}}")
    P_swiglu = Named("P_SwiGLU", r"P_{\text{SwiGLU}}")
    P_rms = Named("P_RMS", r"P_{\text{RMS}}")
    P_lblock = Named("P_block_llama", r"P_{\text{block}}^{\text{Llama}}")
    P_llama = Named("P_Llama", r"P_{\text{Llama}}")
    d_k = Named("d_k", r"d_k", positive=True)
    B_adam = Named("B_Adam", r"B_{\text{Adam}}")
    P = sp.Symbol("P", **_size)
    M = Named("M_train", r"M_{\text{train}}")
    G = Named("N_GPU", r"N_{\text{GPU}}")
    gpu_bytes = _times(GPU_BYTES // 10**9, sp.Pow(10, 9, evaluate=False))
    adam, fp32, half = (BYTES_PER_PARAMETER[k] for k in ("mixed precision + Adam", "fp32 weights",
                                                          "fp16/bf16 weights"))
    gpt2_steps = (
        define(P_emb, V * d, "token embedding matrix W_E: one row of width d per vocabulary entry (V × d)"),
        define(P_pos, n_ctx * d, "GPT-2 learns one position vector per slot of the context (n_ctx × d)"),
        define(P_attn, _plus(_times(d, 3 * d), 3 * d, _times(d, d), d),
               "attention: the fused Q/K/V projection (d × 3d) with its bias, the output projection W_O with its bias"),
        Step(lhs=P_attn, rhs=GPT2_ATTENTION, why="add up: the head count h does not change it (heads split d)",
             check=prove("expand")),
        define(P_mlp, _plus(_times(d, d_ff), d_ff, _times(d_ff, d), d),
               "MLP: W_1 (d × d_ff) and b_1, W_2 (d_ff × d) and b_2; GELU has no parameters"),
        Step(lhs=P_mlp, rhs=GPT2_MLP, why="add up", check=prove("expand")),
        Step(lhs=sp.Subs(P_mlp, d_ff, GPT2_FF), rhs=8 * d**2 + 5 * d,
             why="GPT-2 widens the MLP 4×: d_ff = 4d", check=prove("doit", "expand")),
        define(P_ln, LAYERNORM, "a LayerNorm has a gain γ and a bias β of width d"),
        define(P_block, P_attn + P_mlp + 2 * P_ln, "a block: attention, MLP and the two LayerNorms before them"),
        Step(lhs=P_block, rhs=GPT2_BLOCK, why="substitute the three counts", check=prove("expand")),
        Step(lhs=sp.Subs(P_block, d_ff, GPT2_FF), rhs=12 * d**2 + 13 * d,
             why="with d_ff = 4d: 4d² + 8d² from the weights, 4d + 5d + 4d from biases and norms",
             check=prove("doit", "expand")),
        define(P_gpt2, P_emb + P_pos + L * P_block + P_ln,
               "the decoder: embeddings, positions, L blocks, the final LayerNorm; the head reuses W_E (tied): 0 new"),
        Step(lhs=P_gpt2, rhs=sp.Add(*GPT2_PARTS.values()),
             why="by component: embeddings + positions + attention + MLP + norms + head (d_ff still free)",
             check=prove("expand")),
    )
    llama_steps = (
        define(d_k, D_HEAD, "Llama: width of one head, d_k = d/h"),
        define(P_gqa, _plus(_times(d, d), _times(d, h_kv * d_k), _times(d, h_kv * d_k), _times(d, d)),
               "grouped-query attention, no biases: W_Q and W_O (d × d); only h_kv key/value heads, "
               "so W_K and W_V are d × h_kv d_k, each shared by h/h_kv query heads"),
        Step(lhs=P_gqa, rhs=LLAMA_ATTENTION, why="add up", check=prove("expand")),
        Step(lhs=sp.Subs(P_gqa, h_kv, h), rhs=4 * d**2,
             why="h_kv = h is ordinary multi-head attention: GPT-2's 4d² without the biases",
             check=prove("doit", "expand")),
        define(P_swiglu, _plus(_times(d, d_ff), _times(d, d_ff), _times(d_ff, d)),
               "SwiGLU MLP, no biases: gate W_1 and up W_3 (d × d_ff), down W_2 (d_ff × d)"),
        Step(lhs=P_swiglu, rhs=LLAMA_MLP, why="add up", check=prove("expand")),
        Step(lhs=sp.Subs(P_swiglu, d_ff, sp.Rational(8, 3) * d), rhs=_times(2, d, GPT2_FF),
             why="with d_ff = 8d/3 SwiGLU's three matrices weigh as much as a 4× GELU MLP's two (d × 4d each)",
             check=prove("doit", "expand")),
        define(P_rms, RMSNORM, "RMSNorm has a gain only, no bias"),
        define(P_lblock, P_gqa + P_swiglu + 2 * P_rms, "a block: attention, MLP and two RMSNorms"),
        Step(lhs=P_lblock, rhs=LLAMA_BLOCK, why="substitute the three counts", check=prove("expand")),
        define(P_llama, P_emb + L * P_lblock + P_rms + V * d,
               "the decoder: embeddings, L blocks, the final RMSNorm and an untied head (d × V); "
               "rotary positions have no parameters"),
        Step(lhs=P_llama, rhs=LLAMA_TOTAL, why="collect terms", check=prove("expand")),
        Step(lhs=P_llama, rhs=sp.Add(*LLAMA_PARTS.values()), why="the same by component", check=prove("expand")),
    )
    memory_steps = (
        define(B_adam, _plus(*ADAM_BYTES.values()),
               "mixed precision with Adam, bytes per parameter: " +
               " + ".join(f"{what} {b}" for what, b in ADAM_BYTES.items())),
        Step(lhs=B_adam, rhs=adam, why=f"add up: {adam} bytes per parameter"),
        Step(lhs=B_adam, rhs=_times(adam / fp32, fp32),
             why=f"{adam / fp32} times the fp32 weights alone ({fp32} bytes), {adam / half} times fp16/bf16 "
                 f"weights ({half} bytes)"),
        define(M, B_adam * P, "training memory for P parameters, before activations and buffers"),
        define(G, sp.ceiling(_ratio(M, gpu_bytes)), f"accelerators of {GPU_BYTES // 10**9} GB "
                                                 f"(= {GPU_BYTES // 10**9}·10⁹ bytes) needed just to hold it: round up"),
        Step(lhs=G, rel=">=", rhs=_ratio(M, gpu_bytes), why="rounding up never gives less than the exact ratio",
             check=prove("expand", P=(10**9, 10**13))),
    )
    gpt3_bytes = adam * GPT2_TOTAL.xreplace(GPT3)
    return Derivation(
        summary=("A transformer's size is a sum of matrix sizes you can write down from its configuration: "
                 "V·d for the token embeddings, about 12d² per GPT-2 block (4d² attention, 8d² MLP), plus biases "
                 f"and norms. Counted so, GPT-2 small has {_int(GPT2_TOTAL.xreplace(GPT2_SMALL))} parameters, "
                 "not the 117M its paper printed (the original counts were wrong). Llama-style models change the "
                 "pieces — SwiGLU's three matrices, fewer key/value heads, no biases, a separate output head — but "
                 "not the method. Training needs far more memory than the weights: with mixed precision and Adam "
                 f"each parameter costs {adam} bytes (weights, gradients, an fp32 master copy and two Adam "
                 f"moments), so GPT-3 ({sp.N(GPT2_TOTAL.xreplace(GPT3) / 10**9, 4)} billion parameters) needs "
                 f"{sp.N(gpt3_bytes / 10**12, 3)} TB, {gpus_needed(gpt3_bytes)} accelerators of "
                 f"{GPU_BYTES // 10**9} GB, before a single activation."),
        symbols=tuple(map(_show_symbol, (
                 Symbol(L, "number of transformer blocks (layers)"),
                 Symbol(d, "model width d (residual stream)"),
                 Symbol(V, "vocabulary size"),
                 Symbol(n_ctx, "context length (GPT-2: rows of the position table)"),
                 Symbol(h, "attention heads (query heads)"),
                 Symbol(h_kv, "key/value heads (grouped-query attention; h_kv divides h)"),
                 Symbol(d_ff, "hidden width of the MLP (GPT-2: 4d)"),
                 Symbol(d_k, "width of one head, d/h"),
                 Symbol(P, "a parameter count"),
                 Symbol(B_adam, "bytes per parameter when training with mixed precision and Adam"),
                 Symbol(M, "bytes to hold weights, gradients and optimizer state"),
                 Symbol(G, f"accelerators of {GPU_BYTES // 10**9} GB needed to hold M")))),
        assumptions=(
            "counted: every distinct tensor once — token embeddings, learned position embeddings, every bias "
            "and norm; a tied output head adds nothing",
            "GPT-2 style: pre-LN blocks, fused QKV with biases, MLP of width d_ff = 4d with biases, tied head",
            "Llama style: no biases, RMSNorm (gain only), SwiGLU MLP, h_kv key/value heads, untied head, "
            "rotary positions (no parameters)",
            "h divides d and h_kv divides h",
            "memory counts weights, gradients and optimizer state only: no activations, buffers or fragmentation; "
            "GB = 10⁹ bytes, GiB = 2³⁰ bytes",
        ),
        steps=tuple(map(_show_step, gpt2_steps + llama_steps + memory_steps)),
        result=_show_step(Step(lhs=sp.Subs(P_gpt2, d_ff, GPT2_FF), rhs=GPT2_TOTAL,
                               why="a GPT-2-style decoder with learned positions and tied embeddings",
                               check=prove("doit", "expand"))),
        example=_gpt2_small_example(),
        example_title="GPT-2 small (12 layers, d = 768, 12 heads, V = 50257, n_ctx = 1024)",
        notes=(
            "The GPT-2 paper printed 117M/345M/762M/1542M; counting the released weights gives "
            "124M/355M/774M/1558M (the openai/gpt-2 README says the original counts were wrong).",
            "Tools differ in what they count: nanoGPT's get_num_params() leaves out the position embeddings by "
            "default, and some tables leave out all embeddings (≈85M for GPT-2 small).",
            "Llama 3 8B counted this way has 8,030,261,248 parameters; `explainer size llama3-8b` shows the "
            "breakdown.",
        ),
        closed_forms=parameter_count_forms,
    )


def _gpt2_small_example() -> tuple[Step, ...]:
    """GPT-2 small counted component by component, then its memory; every number computed here."""
    s = GPT2_SMALL
    emb, pos = (V * d).xreplace(s), (n_ctx * d).xreplace(s)
    block = (12 * d**2 + 13 * d).xreplace(s)
    blocks, final = s[L] * block, LAYERNORM.xreplace(s)
    total = GPT2_TOTAL.xreplace(s)
    adam = BYTES_PER_PARAMETER["mixed precision + Adam"]
    train, fp32 = adam * total, BYTES_PER_PARAMETER["fp32 weights"] * total
    return (
        Step(lhs=_times(s[V], s[d]), rhs=emb, why=f"token embeddings: {_int(emb)}"),
        Step(lhs=_times(s[n_ctx], s[d]), rhs=pos, why=f"position embeddings: {_int(pos)}"),
        Step(lhs=_plus(_times(12, sp.Pow(s[d], 2, evaluate=False)), _times(13, s[d])), rhs=block,
             why=f"one block: {_int(block)}"),
        Step(lhs=_times(s[L], block), rhs=blocks, why=f"{s[L]} blocks: {_int(blocks)}"),
        Step(lhs=_plus(emb, pos, blocks, final), rhs=total,
             why=f"with the final LayerNorm ({final}): {_int(total)} parameters — the formula's value"),
        Step(lhs=_plus(total, -pos), rhs=total - pos,
             why=f"without position embeddings (nanoGPT's default count): {_int(total - pos)}"),
        Step(lhs=_plus(total, -pos, -emb), rhs=total - pos - emb,
             why=f"without any embeddings: {_int(total - pos - emb)} (≈{sp.N((total - pos - emb) / 10**6, 3)}M)"),
        Step(lhs=_times(BYTES_PER_PARAMETER["fp32 weights"], total), rhs=fp32,
             why=f"fp32 weights: {_int(fp32)} bytes ≈ {sp.N(fp32 / 10**9, 3)} GB"),
        Step(lhs=_times(adam, total), rhs=train,
             why=f"training with mixed precision and Adam: {_int(train)} bytes ≈ {sp.N(train / 10**9, 3)} GB"),
        Step(lhs=sp.ceiling(_ratio(train, _times(GPU_BYTES // 10**9, sp.Pow(10, 9, evaluate=False))), evaluate=False),
             rhs=gpus_needed(train),
             why=f"fits on {gpus_needed(train)} GPU of {GPU_BYTES // 10**9} GB (activations not counted)"),
    )


def parameter_count_forms(**_sizes: int) -> dict[str, tuple]:
    """Parameter counts as functions of the configuration, for ``sympy.lambdify(args, expr)``.

    ``{"gpt2": ((n_layers, d_model, vocab, n_ctx), P_GPT2), "llama": ((n_layers, d_model, n_heads,
    n_kv_heads, d_ff, vocab), P_Llama)}`` with the Symbols named exactly so. The oracle is
    ``sum(p.numel() for p in model.parameters())`` of real torch modules (shared, tied tensors counted
    once). The forms are symbolic in every size, so sizes passed by the numeric engine are not needed.
    """
    return {"gpt2": ((L, d, V, n_ctx), GPT2_TOTAL),
            "llama": ((L, d, h, h_kv, d_ff, V), LLAMA_TOTAL)}


@derivation("attention-cost", "What one attention layer costs: FLOPs and memory", "model-size")
def attention_cost() -> Derivation:
    d_k = Named("d_k", r"d_k", positive=True)
    F = Named("F_attn", r"F_{\text{attn}}")
    S = Named("S_scores", r"S_{\text{scores}}")
    b = sp.Symbol("b", positive=True)
    t = sp.Symbol("t", positive=True)
    quadratic = _plus(SCORE_FLOPS, WEIGHTED_SUM_FLOPS)
    steps = (
        define(d_k, D_HEAD, "each of the h heads works in width d_k = d/h"),
        Step(lhs=_times(4, _times(2, n, d, d)), rhs=PROJECTION_FLOPS,
             why="four projections X W_Q, X W_K, X W_V and C W_O: (n × d)(d × d) costs n·d·d multiply-adds, "
                 "2 FLOPs each"),
        Step(lhs=_times(h, _times(2, n, d_k, n)), rhs=SCORE_FLOPS,
             why="scores Q_i K_iᵀ for each head: (n × d_k)(d_k × n); the heads together cost as one width-d head",
             check=prove("expand")),
        Step(lhs=_times(h, _times(2, n, n, d_k)), rhs=WEIGHTED_SUM_FLOPS,
             why="weighted sums A_i V_i for each head: (n × n)(n × d_k)", check=prove("expand")),
        define(F, _plus(PROJECTION_FLOPS, SCORE_FLOPS, WEIGHTED_SUM_FLOPS), "FLOPs of one attention layer on one sequence: the four matmul groups; "
                                   "scaling, softmax and biases are O(h n² + n d) and not counted"),
        Step(lhs=F, rhs=8 * n * d**2 + 4 * n**2 * d, why="collect: linear in n from projections, "
                                                         "quadratic in n from scores and weighted sums"),
        Step(lhs=4 * (2 * d + t)**2 * d, rel=">", rhs=8 * (2 * d + t) * d**2,
             why="the n² part dominates once n > 2d: with n = 2d + t, t > 0, the difference is 4d(2d + t)t > 0",
             check=prove("expand")),
        define(S, SCORE_ENTRIES, "memory: one n × n score matrix per head (and as many softmax weights)"),
        Step(lhs=_times(b, _plus(S, S, _times(4, n, d))), rhs=b * (2 * h * n**2 + 4 * n * d),
             why="in bytes at b bytes per entry: scores, weights, and the n × d activations Q, K, V and the "
                 "context kept for the backward pass", check=prove("expand")),
        Step(lhs=_ratio(sp.Subs(S, n, 2 * n), S), rhs=4, why="doubling n quadruples the score memory",
             check=prove("doit", "cancel")),
        Step(lhs=_ratio(sp.Subs(quadratic, n, 2 * n), quadratic), rhs=4,
             why="and quadruples the FLOPs of scores and weighted sums", check=prove("doit", "cancel")),
        Step(lhs=_ratio(sp.Subs(F, n, 2 * n), F), rhs=4 * (n + d) / (n + 2 * d),
             why="the whole layer grows by less: the projections only double", check=prove("doit", "cancel")),
        Step(rel="<", rhs=4, why="4 − 4(n + d)/(n + 2d) = 4d/(n + 2d) > 0", check=prove("cancel", "together")),
        Step(lhs=sp.Limit(_ratio(sp.Subs(F, n, 2 * n), F), n, sp.oo), rhs=4,
             why="for long sequences the ratio tends to 4: quadratic cost", check=prove("doit")),
        Step(lhs=sp.Limit(_ratio(sp.Subs(F, n, 2 * n), F), n, 0, "+"), rhs=2,
             why="for short sequences (n ≪ d) it tends to 2: the projections dominate", check=prove("doit")),
    )
    return Derivation(
        summary=("Attention compares every token with every other, so part of its cost grows with the square of "
                 "the sequence length n. One layer on one sequence costs 8nd² FLOPs for the four projections "
                 "(linear in n) plus 4n²d for the scores QKᵀ and the weighted sum of values (quadratic), and keeps "
                 "an n × n matrix per head: h·n² entries of scores and as many weights. Doubling n therefore "
                 "quadruples the score memory and the quadratic FLOPs; the whole layer's FLOPs grow by a factor "
                 "between 2 and 4 that tends to 4 for long sequences. This is why long contexts are expensive and "
                 "why fused kernels (FlashAttention) avoid storing the n × n matrices."),
        symbols=tuple(map(_show_symbol, (
                 Symbol(n, "sequence length (tokens)"), Symbol(d, "model width d"),
                 Symbol(h, "attention heads"), Symbol(d_k, "width of one head, d/h"),
                 Symbol(F, "FLOPs of one attention layer on one sequence"),
                 Symbol(S, "entries of the score matrices of one layer and sequence"),
                 Symbol(b, "bytes per stored entry (4 in fp32, 2 in fp16/bf16)"),
                 Symbol(t, "how far n exceeds 2d")))),
        assumptions=("one self-attention layer, one sequence (batch 1), Q, K, V, output all of width d, h divides d",
                     "FLOPs count a multiply-add as 2: a matmul (m × k)(k × n) costs 2mkn, as "
                     "torch.utils.flop_counter.FlopCounterMode counts mm/bmm/addmm (the bias add is not counted)",
                     "softmax, the 1/√d_k scaling, masks and biases are lower order and left out",
                     "memory as written out by plain (unfused) attention; FlashAttention never stores the n × n "
                     "matrices"),
        steps=tuple(map(_show_step, steps)),
        result=_show_step(Step(lhs=F, rhs=8 * n * d**2 + 4 * n**2 * d,
                               why="FLOPs of one attention layer on one sequence")),
        example=_attention_example(),
        example_title="one GPT-2-small attention layer (d = 768, h = 12) at n = 1024 and n = 2048",
        closed_forms=attention_cost_forms,
    )


def _attention_example() -> tuple[Step, ...]:
    """A GPT-2-small attention layer at its full context and at twice that; numbers computed here."""
    s = {d: GPT2_SMALL[d], h: GPT2_SMALL[h]}
    short, long = {**s, n: GPT2_SMALL[n_ctx]}, {**s, n: 2 * GPT2_SMALL[n_ctx]}
    parts = [e.xreplace(short) for e in (PROJECTION_FLOPS, SCORE_FLOPS, WEIGHTED_SUM_FLOPS)]
    f1, f2 = ATTENTION_FLOPS.xreplace(short), ATTENTION_FLOPS.xreplace(long)
    m1, m2 = SCORE_ENTRIES.xreplace(short), SCORE_ENTRIES.xreplace(long)
    return (
        Step(lhs=_flops_written(short[n], s[d]), rhs=f1,
             why=f"n = {short[n]}: projections {_int(parts[0])} + scores {_int(parts[1])} + weighted sum "
                 f"{_int(parts[2])} ≈ {sp.N(f1 / 10**9, 3)} GFLOPs"),
        Step(lhs=_times(s[h], short[n], short[n]), rhs=m1,
             why=f"{_int(m1)} score entries: {sp.N(4 * m1 / 10**6, 3)} MB in fp32, as much again for the weights"),
        Step(lhs=_flops_written(long[n], s[d]), rhs=f2, why=f"n = {long[n]}: {_int(f2)} FLOPs"),
        Step(lhs=_ratio(f2, f1), rhs=f2 / f1,
             why=f"{sp.N(f2 / f1, 3)}× the FLOPs (between 2 and 4), while the scores grow {m2 // m1}×"),
    )


def _flops_written(length: int, width: int):
    """``8·n·d² + 2·n²·d + 2·n²·d`` for concrete sizes, left unevaluated."""
    square = lambda v: sp.Pow(v, 2, evaluate=False)  # noqa: E731
    return _plus(_times(8, length, square(width)), _times(2, square(length), width),
                 _times(2, square(length), width))


def attention_cost_forms(**_sizes: int) -> dict[str, tuple]:
    """Cost of one self-attention layer on one sequence, for ``sympy.lambdify(args, expr)``.

    ``{"flops": ((n, d_model), 8 n d² + 4 n² d), "score_memory": ((n, n_heads), h n²)}`` with Symbols
    named ``n``, ``d_model`` and ``n_heads``. FLOPs count a multiply-add as 2, the matmuls only, as
    ``torch.utils.flop_counter.FlopCounterMode`` does; score memory is the number of entries of the
    h score matrices (n × n each) — multiply by the bytes per entry. The forms are symbolic in every
    size, so sizes passed by the numeric engine are not needed.

    Measuring: ``nn.MultiheadAttention`` with ``need_weights=True`` runs counted bmm's; with
    ``need_weights=False`` it calls the fused SDPA kernel, for which ``FlopCounterMode`` counts 0 FLOPs
    on CPU (torch 2.13) — run it under ``sdpa_kernel(SDPBackend.MATH)`` to compare.
    """
    return {"flops": ((n, d), ATTENTION_FLOPS), "score_memory": ((n, h), SCORE_ENTRIES)}
