r"""What training costs: FLOPs per token, the 6ND rule, and the memory a training step holds.

    forward  C_f = 2N + 4 L n d   FLOPs per token (N: weights of every matrix multiplied; n: sequence length)
    backward C_b = 2 C_f          each matmul Y = XW needs dX = dY Wᵀ and dW = Xᵀ dY
    training C ≈ 6 N D            (Kaplan et al. 2020; Hoffmann et al. 2022; EleutherAI "Transformer Math 101")
    memory   16 bytes/parameter (mixed precision + Adam) + activations L s b d (34 + 5 a s/d) bytes
             (Korthikanti et al. 2022), or 2 L s b d bytes with full recomputation (one more forward: 8ND)

FLOPs count a multiply-add as 2, as ``torch.utils.flop_counter.FlopCounterMode`` does. The attention
term counts every query against every key (4nd per token and layer), as an unfused implementation
multiplies the full n × n matrices; with a causal mask only half is needed, Kaplan et al.'s 2·n_ctx·d.
"""
from __future__ import annotations

import sympy as sp

from explainer.derivations.model_size import ADAM_BYTES
from explainer.model import Derivation, Step, Symbol, define, prove
from explainer.notation import Named
from explainer.registry import derivation

_size = {"integer": True, "positive": True}
N = Named("N", "N", **_size)
D_tok = Named("D", "D", **_size)
L = Named("L", "L", **_size)
d = Named("d", "d", **_size)
n = Named("n", "n", **_size)
FORWARD = 2 * N + 4 * L * n * d            # FLOPs per token, forward
BACKWARD = 2 * FORWARD
TRAINING = 3 * FORWARD                     # per token
RECOMPUTE = 4 * FORWARD                    # per token, with full activation recomputation
#: Activation bytes per layer for s tokens, batch b, width d, a heads, 16-bit (Korthikanti et al. 2022, eq. 1).
ACTIVATION_FACTOR, SCORE_FACTOR = 34, 5
#: The worked example: a 7B Llama-2-style model (Touvron et al. 2023: 32 layers, d = 4096, 32 heads,
#: 4096-token context, 2T training tokens) on A100s (312 TFLOP/s dense bf16) at 40 % utilisation.
EXAMPLE = {"N": 7 * 10**9, "D": 2 * 10**12, "L": 32, "d": 4096, "a": 32, "s": 4096,
           "peak": 312 * 10**12, "mfu": sp.Rational(40, 100)}
DAY = 86400


def _times(*factors):
    return sp.Mul(*map(sp.sympify, factors), evaluate=False)


def _plus(*terms):
    return sp.Add(*map(sp.sympify, terms), evaluate=False)


def _ratio(top, bottom):
    return sp.Mul(top, sp.Pow(bottom, -1, evaluate=False), evaluate=False)


@derivation("training-flops", "What training costs: 6ND FLOPs and the memory of a step", "model-size")
def training_flops() -> Derivation:
    m, k, c = (sp.Symbol(x, **_size) for x in ("m", "k", "c"))
    C_f, C_b, C = (Named(x, tex) for x, tex in (("C_fwd", r"C_{\text{fwd}}"), ("C_bwd", r"C_{\text{bwd}}"),
                                                ("C_train", r"C_{\text{train}}")))
    s, b, a = (sp.Symbol(x, **_size) for x in ("s", "b", "a"))
    M_state, M_act, M_re = (Named(x, tex) for x, tex in (("M_state", r"M_{\text{state}}"),
                                                           ("M_act", r"M_{\text{act}}"),
                                                           ("M_recompute", r"M_{\text{recompute}}")))
    w = sp.IndexedBase("w", positive=True)
    r, j, l = sp.symbols("r j l", integer=True, nonnegative=True)  # output row, output column, inner index: from 0
    i = sp.Symbol("i", integer=True, positive=True)  # weight matrix i of T: a named part (W_1 … W_T), not a position
    T = sp.Symbol("T", **_size)
    steps = (
        Step(lhs=sp.Sum(2, (r, 0, m - 1), (j, 0, c - 1), (l, 0, k - 1)), rhs=_times(2, m, k, c), check=prove("doit"),
             why="a matmul (m × k)(k × c): each of the m·c outputs (row r, column j) is k multiply-adds "
                 "(l = 0 … k − 1), 2 FLOPs each"),
        Step(lhs=sp.Sum(2 * w[i], (i, 1, T)), rhs=2 * sp.Sum(w[i], (i, 1, T)), check=prove("sums"),
             why="one token (m = 1) through weight matrices of wᵢ = k·c entries each costs 2·wᵢ; summed over "
                 "all of them: twice the number of weights, 2N"),
        define(C_f, FORWARD, "forward FLOPs per token: 2N for the weights, plus attention's QKᵀ and AV against "
                             "n keys of width d in each of L layers (2nd each)"),
        Step(lhs=_plus(_times(2, m, k, c), _times(2, m, k, c)), rhs=_times(2, _times(2, m, k, c)),
             check=prove("expand"),
             why="backward through Y = XW computes dX = dY·Wᵀ (m × c)(c × k) and dW = Xᵀ·dY (k × m)(m × c): "
                 "two matmuls of the same size as the forward one"),
        define(C_b, 2 * C_f, "so the backward pass costs twice the forward (true of QKᵀ and AV too: both inputs "
                             "need a gradient)"),
        define(C, D_tok * (C_f + C_b), "training on D tokens: one forward and one backward per token"),
        Step(lhs=C, rhs=6 * N * D_tok + 12 * L * n * d * D_tok, check=prove("expand"),
             why="6N FLOPs per token for the weights, 12·L·n·d for attention"),
        Step(lhs=_ratio(12 * L * n * d, 6 * 12 * L * d**2), rhs=n / (6 * d), check=prove("cancel"),
             why="with N ≈ 12·L·d² (attention 4d² + MLP 8d² per layer) the attention term is n/(6d) of the "
                 "weights' term: small when n ≪ 6d, so C ≈ 6ND (Kaplan et al.'s rule)"),
        Step(lhs=sp.Subs(C, D_tok, 20 * N), rhs=120 * N**2 + 240 * L * n * d * N, check=prove("doit", "expand"),
             why="with Chinchilla-optimal data, D ≈ 20N tokens (Hoffmann et al. 2022): C ≈ 120N²"),
        define(M_state, _plus(*ADAM_BYTES.values()) * N,
               "memory, model state: " + ", ".join(f"{what} {bytes_}" for what, bytes_ in ADAM_BYTES.items())
               + " bytes per parameter"),
        Step(lhs=M_state, rhs=16 * N, why="16 bytes per parameter, 4× the fp32 weights alone"),
        define(M_act, L * s * b * d * (ACTIVATION_FACTOR + SCORE_FACTOR * a * s / d),
               "activations kept for the backward pass, 16-bit: 34·s·b·d per layer for the linear parts and "
               "5·a·s²·b for the a score and softmax matrices (Korthikanti et al. 2022)"),
        define(M_re, 2 * L * s * b * d, "full recomputation keeps only each layer's input (2 bytes per entry) "
                                        "and redoes the forward during the backward pass"),
        Step(lhs=_ratio(M_act, M_re), rhs=17 + sp.Rational(5, 2) * a * s / d, check=prove("cancel"),
             why="recomputation divides activation memory by 17 + 2.5·a·s/d"),
        Step(lhs=_ratio(D_tok * (2 * C_f + C_b), C), rhs=sp.Rational(4, 3), check=prove("cancel"),
             why="at the price of one more forward per token: 8ND instead of 6ND FLOPs, a third more"),
    )
    return Derivation(
        summary=("Almost all of a transformer's FLOPs are matrix multiplications, and a token passing through "
                 "a weight matrix of w entries costs 2w FLOPs (a multiply and an add per entry). So the forward "
                 "pass costs about 2N FLOPs per token, N the number of weights, plus an attention term 4·L·n·d "
                 "that is small while the sequence length n is well below 6d. The backward pass computes two "
                 "matmuls for each forward one (the gradient of the input and of the weight): twice the "
                 "forward. Training on D tokens therefore costs C ≈ 6ND (Kaplan et al. 2020), the rule used by "
                 "Chinchilla and EleutherAI's Transformer Math 101. Memory is another story: 16 bytes per "
                 "parameter for weights, gradients and Adam's state, plus activations that grow with batch and "
                 "sequence length unless they are recomputed (one more forward, 8ND)."),
        symbols=(Symbol(N, "weights in matrix multiplications (embedding lookups excluded)"),
                 Symbol(D_tok, "training tokens"), Symbol(L, "layers"), Symbol(d, "model width"),
                 Symbol(n, "sequence length each token attends over"),
                 Symbol(m, "rows of a matmul's left factor (tokens)"), Symbol(k, "inner dimension"),
                 Symbol(c, "columns of the right factor"), Symbol(sp.Symbol("w_i"), "entries of weight matrix i (i = 1 … T)"),
                 Symbol(T, "number of weight matrices"),
                 Symbol(C_f, "forward FLOPs per token"), Symbol(C_b, "backward FLOPs per token"),
                 Symbol(C, "training FLOPs on D tokens"),
                 Symbol(M_state, "bytes of weights, gradients and optimizer state"),
                 Symbol(s, "tokens per sequence"), Symbol(b, "sequences per batch"), Symbol(a, "attention heads"),
                 Symbol(M_act, "activation bytes kept for the backward pass"),
                 Symbol(M_re, "activation bytes with full recomputation")),
        assumptions=("FLOPs count a multiply-add as 2 and only matmuls (norms, softmax, activations: lower order)",
                     "the attention term multiplies full n × n matrices (no causal saving, no FlashAttention)",
                     "memory: mixed precision with Adam; activations in 16 bits without tensor or sequence "
                     "parallelism and without dropout masks' savings, as in Korthikanti et al. 2022, eq. 1"),
        steps=steps,
        result=Step(lhs=C, rhs=6 * N * D_tok + 12 * L * n * d * D_tok, check=prove("expand"),
                    why="≈ 6ND when n ≪ 6d"),
        example=_example(),
        example_title="a 7B model on 2T tokens (Llama-2-7B sizes) on A100s at 40 % utilisation",
        notes=("For comparison: the Llama 2 paper (Touvron et al. 2023, table 2) reports 184,320 A100 GPU-hours "
               "(7,680 GPU-days) for its 7B model.",
               "Kaplan et al. write the attention term as 2·n_layer·n_ctx·d_attn per token: a causal mask halves "
               "the 4·L·n·d counted here."),
        closed_forms=training_flops_forms,
    )


def _example() -> tuple:
    """C = 6ND for 7B parameters and 2T tokens, the GPU-days at a stated utilisation, and the memory."""
    e = EXAMPLE
    flops = 6 * e["N"] * e["D"]
    N_, D_, peak = _sci(7, 9), _sci(2, 12), _sci(312, 12)
    rate = e["peak"] * e["mfu"]
    days = sp.Rational(flops, 1) / rate / DAY
    state = 16 * e["N"]
    act = e["L"] * e["s"] * e["d"] * (ACTIVATION_FACTOR + SCORE_FACTOR * e["a"] * e["s"] // e["d"])
    kept = 2 * e["L"] * e["s"] * e["d"]
    return (
        Step(lhs=_times(6, N_, D_), rhs=_sci(84, 21), why=f"C ≈ {float(flops):.2e} FLOPs"),
        Step(lhs=_ratio(_sci(84, 21), _times(peak, e["mfu"])), rhs=sp.Rational(flops, 1) / rate,
             why=f"at 40 % of an A100's 312 TFLOP/s: {float(flops / rate):.3e} GPU-seconds"),
        Step(lhs=_ratio(sp.Rational(flops, 1) / rate, DAY), rhs=days,
             why=f"≈ {float(days):,.0f} GPU-days ({float(days * 24):,.0f} GPU-hours; the Llama 2 paper "
                 "reports 184,320), e.g. 1,024 GPUs for ≈ " f"{float(days / 1024):.1f} days"),
        Step(lhs=_times(16, N_), rhs=state,
             why=f"model state: {state / 10**9:.0f} GB — more than one 80 GB GPU, before activations"),
        Step(lhs=_times(e["L"], e["s"], e["d"], _plus(ACTIVATION_FACTOR, _ratio(_times(SCORE_FACTOR, e["a"], e["s"]),
                                                                              e["d"]))),
             rhs=act, why=f"activations of one 4096-token sequence: {act / 10**9:.0f} GB "
                          f"({e['L']} layers, 32 heads)"),
        Step(lhs=_times(2, e["L"], e["s"], e["d"]), rhs=kept,
             why=f"with full recomputation: {kept / 10**9:.2f} GB per sequence"),
    )


def _sci(mantissa: int, exponent: int):
    """``mantissa·10^exponent`` as written."""
    return _times(mantissa, sp.Pow(10, exponent, evaluate=False))


def training_flops_forms(**_sizes: int) -> dict[str, tuple]:
    """Per-token FLOPs for ``sympy.lambdify(args, expr)``: ``{"forward": ((N, n_layers, n, d_model), 2N + 4Lnd),
    "backward": (…, 2·forward)}``. The oracle is ``FlopCounterMode`` around a model's forward and backward."""
    return {"forward": ((N, L, n, d), FORWARD), "backward": ((N, L, n, d), BACKWARD)}
