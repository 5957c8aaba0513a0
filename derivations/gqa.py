r"""Grouped-query attention (GQA): many query heads share a few key/value heads.

    head_j = Attn(Q_j, K_{⌊j/r⌋}, V_{⌊j/r⌋}),   r = h/g
    GQA(Q, K, V) = MHA(Q, K E, V E)    (E copies each K/V head r times)

With h query heads and g key/value heads (g divides h), the query heads come in g groups of r = h/g
and each group reads one shared key/value head. Multi-query attention is g = 1, ordinary multi-head
attention g = h. The outputs are exactly those of multi-head attention whose keys and values are the g
heads, each repeated r times in place; what changes is the size of W_K, W_V and of the KV cache.
"""
from __future__ import annotations

import sympy as sp

from explainer.errors import UsageError, positive_int
from explainer.model import Derivation, Step, Symbol, prove
from explainer.notation import Named
from explainer.operators import MatrixOperator, row_softmax
from explainer.registry import derivation

EX_N, EX_H, EX_G, EX_DH = 2, 4, 2, 2  # tokens, query heads, K/V heads, head width of the proved identity
d, h, g, d_head = sp.symbols("d h g d_head", integer=True, positive=True)
L, T, b = sp.symbols("L T b", integer=True, positive=True)


def _heads(M, width: int) -> list:
    """The column blocks of ``M`` of ``width`` columns each: one per head."""
    return [M[:, a * width:(a + 1) * width] for a in range(M.cols // width)]


def group_weights(Q, K, d_head: int) -> list:
    """softmax(Q_j K_aᵀ / √d_head) for every query head j, with a = ⌊j/r⌋, r = h/g (explicit matrices)."""
    qs, ks = _heads(Q, d_head), _heads(K, d_head)
    r = len(qs) // len(ks)
    return [row_softmax(q * ks[j // r].T / sp.sqrt(d_head)) for j, q in enumerate(qs)]


def grouped_attention(Q, K, V, d_head: int, weights: list | None = None) -> sp.ImmutableMatrix:
    """Concatenate head j = softmax(Q_j K_aᵀ / √d_head) V_a over the query heads j, with a = ⌊j/r⌋,
    r = h/g (the definition; explicit matrices, h·d_head and g·d_head columns)."""
    weights = group_weights(Q, K, d_head) if weights is None else weights
    vs = _heads(V, d_head)
    r = len(weights) // len(vs)
    return sp.ImmutableMatrix(sp.Matrix.hstack(*[w * vs[j // r] for j, w in enumerate(weights)]))


def repeat_matrix(h: int, g: int, d_head: int) -> sp.ImmutableMatrix:
    """E (g·d_head × h·d_head): column block j of K E is K's block ⌊j/r⌋ — transformers' ``repeat_kv``
    (``torch.repeat_interleave`` over heads)."""
    r = h // g
    return sp.ImmutableMatrix(g * d_head, h * d_head,
                              lambda row, col: int(row // d_head == (col // d_head) // r and row % d_head == col % d_head))


class GQA(MatrixOperator):
    """``GQA(Q, K, V)``: grouped-query attention with heads of width EX_DH (h, g read from the widths)."""

    name, latex_name = "GQA", r"\operatorname{GQA}"

    def expand(self, Q, K, V):
        return grouped_attention(Q, K, V, EX_DH)


class MHA(MatrixOperator):
    """``MHA(Q, K, V)``: multi-head attention, heads of width EX_DH, head j reads K/V block j."""

    name, latex_name = "MHA", r"\operatorname{MHA}"

    def expand(self, Q, K, V):
        if K.cols != Q.cols:
            raise ValueError("MHA needs as many key/value heads as query heads")
        return grouped_attention(Q, K, V, EX_DH)


def _count(*factors):
    return sp.Mul(*factors, evaluate=False)


@derivation("grouped-query-attention", "Grouped-query attention (GQA)", "modern-llms")
def grouped_query_attention() -> Derivation:
    Q = sp.MatrixSymbol("Q", EX_N, EX_H * EX_DH)
    K, V = sp.MatrixSymbol("K", EX_N, EX_G * EX_DH), sp.MatrixSymbol("V", EX_N, EX_G * EX_DH)
    E = sp.MatrixSymbol("E", EX_G * EX_DH, EX_H * EX_DH)
    k0, k1 = _heads(K, EX_DH)
    p_gqa, p_mha = Named("P_GQA", r"P_{\mathrm{GQA}}"), Named("P_MHA", r"P_{\mathrm{MHA}}")
    c_gqa, c_mha = Named("C_GQA", r"C_{\mathrm{GQA}}"), Named("C_MHA", r"C_{\mathrm{MHA}}")
    steps = (
        Step(lhs=sp.MatMul(K, E, evaluate=False), rhs=sp.BlockMatrix([[k0, k0, k1, k1]]),
             where=((E, repeat_matrix(EX_H, EX_G, EX_DH)),), check=prove("doit"),
             why=f"h = {EX_H} query heads, g = {EX_G} K/V heads of width {EX_DH}: E copies each K/V head "
                 f"r = h/g = {EX_H // EX_G} times, in place (transformers' repeat_kv, a repeat_interleave)"),
        Step(lhs=GQA(Q, K, V), rhs=MHA(Q, sp.MatMul(K, E, evaluate=False), sp.MatMul(V, E, evaluate=False)),
             check=prove("doit"),
             why=f"query head j reads K/V head ⌊j/r⌋: exactly multi-head attention on the repeated keys and "
                 f"values (proved for {EX_N} tokens with symbolic entries)"),
        Step(lhs=p_gqa, rhs=2 * d * d_head * (h + g),
             where=((p_gqa, sp.Add(_count(d, h, d_head), _count(2, d, g, d_head), _count(h, d_head, d),
                                   evaluate=False)),),
             check=prove("expand"),
             why="parameters of one attention layer without biases: W_Q (d × h·d_head), W_K and W_V "
                 "(d × g·d_head each), W_O (h·d_head × d)"),
        Step(lhs=p_mha, rhs=p_gqa + 2 * d * d_head * (h - g), where=((p_mha, _count(4, d, h, d_head)),),
             check=prove("expand"),
             why="multi-head attention (g = h) has 4·d·h·d_head; GQA saves 2·d·d_head per K/V head dropped"),
        Step(lhs=c_gqa / c_mha, rhs=g / h,
             where=((c_gqa, _count(2, L, g, d_head, T, b)), (c_mha, _count(2, L, h, d_head, T, b))),
             check=prove("cancel"),
             why="the KV cache holds K and V for every layer, K/V head and token (see kv-cache): it shrinks "
                 "by g/h — 1/h for multi-query attention (g = 1)"),
    )
    return Derivation(
        summary=("Llama 2 70B, Llama 3, Mistral and most current LLMs let several query heads share one "
                 "key/value head. With h query heads and g key/value heads, query head j reads key/value "
                 "head ⌊j/r⌋, r = h/g. This is exactly multi-head attention whose keys and values are the "
                 "g heads, each repeated r times in place (proved): transformers' repeat_kv does that "
                 "before an ordinary attention, and F.scaled_dot_product_attention(enable_gqa=True) does "
                 "the same. Nothing changes for the queries; W_K and W_V shrink from d × h·d_head to "
                 "d × g·d_head, and the KV cache, which dominates memory when generating long texts, "
                 "shrinks by g/h. Multi-query attention is g = 1; ordinary multi-head attention g = h."),
        symbols=(Symbol(Q, "queries of all h heads side by side (after W_Q)", "n × h·d_head"),
                 Symbol(K, "keys of the g K/V heads (after W_K)", "n × g·d_head"),
                 Symbol(V, "values of the g K/V heads (after W_V)", "n × g·d_head"),
                 Symbol(E, "repetition: copies K/V head a to query heads a·r, …, a·r + r − 1",
                        "g·d_head × h·d_head"),
                 Symbol(h, "query heads"), Symbol(g, "key/value heads (g divides h)"),
                 Symbol(d_head, "head width"), Symbol(d, "model width"),
                 Symbol(L, "layers"), Symbol(T, "tokens in the cache"), Symbol(b, "bytes per number"),
                 Symbol(p_gqa, "attention parameters per layer with g K/V heads"),
                 Symbol(p_mha, "the same with g = h"),
                 Symbol(c_gqa, "KV-cache bytes with g K/V heads"), Symbol(c_mha, "the same with g = h")),
        assumptions=(f"the identity is proved for n = {EX_N} tokens, h = {EX_H}, g = {EX_G}, d_head = {EX_DH} "
                     "with symbolic entries; the counts for symbolic sizes",
                     "no biases in the projections (Llama: attention_bias = False)",
                     "row-vector convention: one token per row, heads side by side in the columns"),
        steps=steps,
        result=Step(lhs=GQA(Q, K, V), rhs=MHA(Q, sp.MatMul(K, E, evaluate=False), sp.MatMul(V, E, evaluate=False)),
                    check=prove("doit"), why="grouped-query attention is multi-head attention on repeated K/V heads"),
        example=_example(p_gqa, p_mha, c_gqa, c_mha),
        example_title="Llama 3 8B: d = 4096, h = 32, g = 8, d_head = 128",
        notes=("Ainslie et al., 'GQA: Training Generalized Multi-Query Transformer Models from Multi-Head "
               "Checkpoints' (2023); Shazeer, 'Fast Transformer Decoding: One Write-Head is All You Need' "
               "(2019) for multi-query attention.",
               "Sizes from meta-llama/Meta-Llama-3-8B config.json on the Hugging Face hub: hidden_size 4096, "
               "num_attention_heads 32, num_key_value_heads 8, num_hidden_layers 32."),
        closed_forms=gqa_forms,
    )


def _example(p_gqa, p_mha, c_gqa, c_mha) -> tuple:
    sizes = {d: 4096, h: 32, g: 8, d_head: 128}
    where = tuple(sizes.items())
    return (
        Step(lhs=p_gqa, rhs=sp.Integer(2 * 4096 * 128 * 40), where=where, check=prove("doit"),
             why="attention parameters per layer: 41,943,040 …"),
        Step(lhs=p_mha, rhs=sp.Integer(4 * 4096 * 32 * 128), check=prove("doit"),
             why="… instead of 67,108,864 with 32 K/V heads: 25,165,824 fewer per layer, 805M over 32 layers"),
        Step(lhs=c_gqa / c_mha, rhs=sp.Rational(1, 4), check=prove("cancel"),
             why="and a KV cache one quarter the size"),
    )


def gqa_forms(h: int, g: int, d_head: int, n: int | None = None, d: int | None = None) -> dict[str, tuple]:
    """Closed forms for ``h`` query heads and ``g`` K/V heads of width ``d_head``; with ``n`` tokens:

    ``"output"``: ((Q[n × h·d_head], K[n × g·d_head], V[n × g·d_head]), GQA(Q, K, V) [n × h·d_head]),
    ``"weights"``: ((Q, K), the h attention matrices stacked [h·n × n]);
    with model width ``d``: ``"parameters"``: ((), [W_Q, W_K, W_V, W_O] sizes as a 1 × 4 matrix).
    """
    for value, label in ((h, "h"), (g, "g"), (d_head, "d_head")):
        positive_int(value, label)
    if h % g:
        raise UsageError(f"the K/V heads must divide the query heads, got h = {h}, g = {g}")
    forms = {}
    if n is not None:
        positive_int(n, "n")
        Q = sp.MatrixSymbol("Q", n, h * d_head)
        K, V = sp.MatrixSymbol("K", n, g * d_head), sp.MatrixSymbol("V", n, g * d_head)
        Qe, Ke, Ve = Q.as_explicit(), K.as_explicit(), V.as_explicit()
        weights = group_weights(Qe, Ke, d_head)
        forms["output"] = ((Q, K, V), grouped_attention(Qe, Ke, Ve, d_head, weights))
        forms["weights"] = ((Q, K), sp.ImmutableMatrix(sp.Matrix.vstack(*weights)))
    if d is not None:
        positive_int(d, "d")
        forms["parameters"] = ((), sp.ImmutableMatrix([[d * h * d_head, d * g * d_head, d * g * d_head,
                                                        h * d_head * d]]))
    return forms
