r"""Online softmax: attention over keys that arrive in blocks, without ever holding all the scores.

    one block:  m = max_j s_j,  ℓ = Σ_j e^{s_j − m},  o = Σ_j e^{s_j − m} v_j / ℓ
    merge:      m = max(m₁, m₂),  ℓ = e^{m₁−m} ℓ₁ + e^{m₂−m} ℓ₂,  o = (e^{m₁−m} ℓ₁ o₁ + e^{m₂−m} ℓ₂ o₂) / ℓ

The merged triple (m, ℓ, o) is exactly the softmax attention of one query over the union of the two
blocks (proved for two blocks of two keys; any number of blocks by induction). FlashAttention (Dao
et al. 2022) streams key/value tiles through this update and keeps O(n) numbers per head instead of
the n × n score matrix; FlashAttention-2 keeps the unnormalised ℓ·o and divides once at the end,
the same algebra.

:func:`block_state` and :func:`merge` are the update itself, for SymPy (the default) or any array
library (pass ``exp`` and ``maximum``, e.g. ``torch.exp``, ``torch.maximum``); the numeric checks and
other derivations (ring attention) reuse them.
"""
from __future__ import annotations

import sympy as sp

from explainer.model import Derivation, Step, Symbol, define, prove
from explainer.notation import Named
from explainer.registry import derivation

s = sp.IndexedBase("s", real=True)
v = sp.IndexedBase("v", real=True)
j = sp.Symbol("j", integer=True, nonnegative=True)
FIRST, SECOND = (0, 1), (2, 3)  # the keys (from 0) of block 1 and block 2 (blocks are named)
_dim = {"integer": True, "positive": True}


def block_state(scores, values, exp=sp.exp, maximum=sp.Max):
    """``(m, ℓ, o)`` of one block: m = max s, ℓ = Σ e^{s − m}, o = Σ e^{s − m} v / ℓ.

    ``scores`` and ``values`` are sequences of equal length (numbers, SymPy expressions, or tensors
    that broadcast: e.g. scores of shape (…, 1) and values of shape (…, d_v) per key).
    """
    m = scores[0]
    for x in scores[1:]:
        m = maximum(m, x)
    weights = [exp(x - m) for x in scores]
    ell = sum(weights[1:], weights[0])
    return m, ell, sum((w * y for w, y in zip(weights[1:], values[1:])), weights[0] * values[0]) / ell


def merge(m1, l1, o1, m2, l2, o2, exp=sp.exp, maximum=sp.Max):
    """The merged ``(m, ℓ, o)`` of two blocks: both sums rescaled to the common max m = max(m₁, m₂).

    With tensors pass ``exp=torch.exp, maximum=torch.maximum``; m and ℓ broadcast against o. A block
    with no allowed key must come as (m, ℓ, o) = (−∞, 0, 0): it then contributes e^{−∞}·0·0 = 0 (an o
    of 0/0 = NaN would poison the sum). Two empty blocks merge to ℓ = 0, o undefined.
    """
    m = maximum(m1, m2)
    a1, a2 = exp(m1 - m), exp(m2 - m)
    ell = a1 * l1 + a2 * l2
    return m, ell, (a1 * l1 * o1 + a2 * l2 * o2) / ell


def _sum(term, keys):
    return sp.Sum(term, (j, keys[0], keys[-1]))


def _attention(keys):
    """Σ e^{s_j} v_j / Σ e^{s_j} over ``keys``: softmax attention of one query, one value coordinate."""
    return _sum(sp.exp(s[j]) * v[j], keys) / _sum(sp.exp(s[j]), keys)


@derivation("online-softmax", "Online softmax: attention block by block (FlashAttention)", "modern-llms")
def online_softmax() -> Derivation:
    o = Named("o", "o", real=True)
    c = sp.Symbol("c", real=True)
    m1, l1, o1 = (Named(f"{x}_1", f"{tex}_1", real=True) for x, tex in (("m", "m"), ("ℓ", r"\ell"), ("o", "o")))
    m2, l2, o2 = (Named(f"{x}_2", f"{tex}_2", real=True) for x, tex in (("m", "m"), ("ℓ", r"\ell"), ("o", "o")))
    m, ell = Named("m", "m", real=True), Named("ℓ", r"\ell", positive=True)
    o12 = Named("o_12", r"o_{12}", real=True)
    m_new = Named("m'", "m'", real=True)
    t = sp.Symbol("t", nonnegative=True)
    n, d_v, B = (sp.Symbol(x, **_dim) for x in ("n", "d_v", "B"))
    M_full, M_stream = Named("M_full", r"M_{\text{full}}"), Named("M_stream", r"M_{\text{stream}}")
    everything = (0, 3)
    steps = (
        define(o, _attention(everything), "softmax attention of one query over keys 0–3: scores s_j = q·k_j/√d_k, "
                                          "v_j one coordinate of value j (every coordinate works the same way)"),
        Step(lhs=_sum(sp.exp(s[j] - c) * v[j], everything) / _sum(sp.exp(s[j] - c), everything), rhs=o,
             why="shifting every score by the same c changes nothing: e^{−c} leaves both sums and cancels",
             check=prove("doit", "expand", "cancel")),
        define(m1, sp.Max(s[0], s[1]), "block 1 holds keys 0–1: its largest score"),
        define(l1, _sum(sp.exp(s[j] - m1), FIRST), "its sum of exponentials, relative to m₁"),
        define(o1, _sum(sp.exp(s[j] - m1) * v[j], FIRST) / l1, "its output: attention over block 1 alone"),
        Step(lhs=o1, rhs=_attention(FIRST), why="o₁ is softmax attention over keys 0–1: the shift by m₁ cancels",
             check=prove("doit", "expand", "cancel")),
        define(m2, sp.Max(s[2], s[3]), "block 2 holds keys 2–3, computed the same way (on another tile or device)"),
        define(l2, _sum(sp.exp(s[j] - m2), SECOND), "its sum of exponentials, relative to m₂"),
        define(o2, _sum(sp.exp(s[j] - m2) * v[j], SECOND) / l2, "its output: attention over block 2 alone"),
        define(m, sp.Max(m1, m2), "merge: the running max of both blocks"),
        define(ell, sp.exp(m1 - m) * l1 + sp.exp(m2 - m) * l2, "rescale each block's sum from its own max to m"),
        Step(lhs=ell, rhs=_sum(sp.exp(s[j] - m), everything), check=prove("doit", "expand"),
             why="the merged ℓ is the sum over all four keys, relative to the common max"),
        define(o12, (sp.exp(m1 - m) * l1 * o1 + sp.exp(m2 - m) * l2 * o2) / ell,
               "merge the outputs: ℓᵢoᵢ is block i's unnormalised weighted sum; rescale, add, divide by ℓ"),
        Step(lhs=o12, rhs=o, check=prove("doit", "expand", "cancel"),
             why="the merged output is exactly softmax attention over the union: nothing is approximated"),
        Step(lhs=sp.exp(-t), rel="<=", rhs=1, check=prove("expand"),
             why="every factor e^{x − m} with x ≤ m (write m = x + t, t ≥ 0) lies in (0, 1]: no overflow, "
                 "and ℓ ≥ 1 because the key that attains m contributes e⁰ = 1"),
        Step(lhs=(sp.exp(m - m_new) * ell * o12 + sp.exp(s[4] - m_new) * v[4])
             / (sp.exp(m - m_new) * ell + sp.exp(s[4] - m_new)),
             rhs=_attention((0, 4)), where=((m_new, sp.Max(m, s[4])),), check=prove("doit", "expand", "cancel"),
             why="induction: merging the state of keys 0–3 with one more key (m = s₄, ℓ = 1, o = v₄) gives "
                 "attention over keys 0–4; in general the state after t blocks is block 1 of the next merge"),
        define(M_full, n**2, "plain attention stores one n × n score (and weight) matrix per head"),
        define(M_stream, n * (d_v + 2) + B**2,
               "streaming keeps (m, ℓ, o) per query — n(d_v + 2) numbers — plus one B × B tile of scores"),
        Step(lhs=sp.Limit(M_stream / M_full, n, sp.oo), rhs=0, check=prove("doit"),
             why="memory O(n) instead of O(n²): the ratio vanishes for long sequences (FLOPs stay the same)"),
    )
    return Derivation(
        summary=("Softmax attention seems to need every score of a query before it can normalise, so plain code "
                 "stores the whole n × n score matrix. It does not have to. Split the keys into blocks; for each "
                 "block keep three numbers per query — the largest score m, the sum ℓ of e^{s − m}, and the "
                 "weighted average o of the values. Two blocks merge by rescaling both sums to the larger max: "
                 "ℓ = e^{m₁−m}ℓ₁ + e^{m₂−m}ℓ₂ and o = (e^{m₁−m}ℓ₁o₁ + e^{m₂−m}ℓ₂o₂)/ℓ. The merged triple is "
                 "exactly attention over both blocks, so folding the blocks in one at a time (FlashAttention) "
                 "gives the same output as the full softmax while keeping O(n) numbers instead of O(n²); "
                 "subtracting the running max keeps every exponential in (0, 1]."),
        symbols=(Symbol(sp.Symbol("s_j"), "score of key j for one query, q·k_j/√d_k"),
                 Symbol(sp.Symbol("v_j"), "one coordinate of value vector j"),
                 Symbol(o, "softmax attention output over all keys (one coordinate)"),
                 Symbol(c, "any constant shift of the scores"),
                 Symbol(sp.Symbol("m_i"), "largest score in block i"),
                 Symbol(sp.Symbol("ℓ_i"), "Σ e^{s_j − mᵢ} over block i"),
                 Symbol(sp.Symbol("o_i"), "attention output over block i alone"),
                 Symbol(m, "the merged (running) max"), Symbol(ell, "the merged sum, relative to m"),
                 Symbol(o12, "the merged output"),
                 Symbol(m_new, "the max after one more key"), Symbol(t, "how far a score lies below the max"),
                 Symbol(n, "sequence length"), Symbol(d_v, "width of a value vector"),
                 Symbol(B, "tile size (keys per block)"),
                 Symbol(M_full, "score entries plain attention stores per head"),
                 Symbol(M_stream, "numbers the streaming form keeps per head")),
        assumptions=("one query and one value coordinate; every query row and coordinate is handled the same way",
                     "proved for two blocks of two keys and one more key; more blocks by induction (in words)",
                     "every block has at least one allowed key (a fully masked block has m = −∞ and adds 0)"),
        steps=steps,
        result=Step(lhs=merge(m1, l1, o1, m2, l2, o2)[2], rhs=_attention(everything),
                    check=prove("doit", "expand", "cancel"),
                    why="merge(m₁, ℓ₁, o₁, m₂, ℓ₂, o₂) is softmax attention over the union of the blocks"),
        example=_example(),
        example_title="scores (1, 3 | 2, 0), values (4, 0 | 2, 6) in two blocks",
    )


def _example() -> tuple:
    """Two blocks of two keys with small integer scores; every number computed by :func:`block_state`."""
    scores, values = (1, 3, 2, 0), (4, 0, 2, 6)
    first = block_state(scores[:2], values[:2])
    second = block_state(scores[2:], values[2:])
    merged = merge(*first, *second)
    full = sp.Add(*(sp.exp(x) * y for x, y in zip(scores, values))) / sp.Add(*(sp.exp(x) for x in scores))
    written = sp.ImmutableMatrix([[sp.Max(*map(sp.Integer, scores[:2]), evaluate=False),
                                   sp.Add(*(sp.exp(sp.Add(x, -3, evaluate=False), evaluate=False)
                                            for x in scores[:2]), evaluate=False)]])
    return (
        Step(lhs=written, rhs=sp.ImmutableMatrix([first[:2]]),
             why=f"block 1 (keys 0–1): m₁ = 3, ℓ₁ = 1 + e⁻² ≈ {float(first[1]):.4f}, o₁ = 4e⁻²/ℓ₁ ≈ {float(first[2]):.4f}"),
        Step(lhs=sp.ImmutableMatrix([[merged[0], merged[1]]]),
             rhs=sp.ImmutableMatrix([[3, sum(sp.exp(x - 3) for x in scores)]]),
             check=prove("expand"),
             why=f"block 2 (keys 2–3) gives m₂ = 2, ℓ₂ = 1 + e⁻², o₂ ≈ {float(second[2]):.4f}; merged: m = 3 and ℓ = ℓ₁ + e⁻¹ℓ₂"),
        Step(lhs=merged[2], rhs=full, check=prove("expand", "cancel"),
             why=f"the merged output ≈ {float(merged[2]):.6f} equals softmax(1, 3, 2, 0)·(4, 0, 2, 6) exactly"),
    )
