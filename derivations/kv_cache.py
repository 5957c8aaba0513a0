r"""The KV cache: generating one token without recomputing the prefix.

    CausalAttn([Q_c; q], [K_c; k], [V_c; v])  =  [CausalAttn(Q_c, K_c, V_c); Attn(q, [K_c; k], [V_c; v])]
    cache bytes = 2 · L · g · d_head · T · b

With a causal mask, appending a token changes no earlier row of any attention layer, so the keys and
values of the earlier tokens — in every layer — are what they were: keep them, and compute only the new
token's query, key and value. Its output row is plain attention of its query over the cached keys and
values plus its own. The price is memory: K and V for every layer, key/value head and token.
"""
from __future__ import annotations

import sympy as sp

from explainer.errors import positive_int
from explainer.model import Derivation, Step, Symbol, define, prove
from explainer.notation import Named
from explainer.operators import Attn, MatrixOperator
from explainer.registry import derivation

EX_C, EX_DH = 2, 2  # cached tokens and head width of the proved identity
L, g, h, d_head, T, b = sp.symbols("L g h d_head T b", integer=True, positive=True)
t = sp.Symbol("t", integer=True, positive=True)   # tokens once the new one is appended: it sits at position t − 1
i = sp.Symbol("i", integer=True, nonnegative=True)  # a token position, 0 … t − 1
N = sp.Symbol("N", integer=True, positive=True)
#: meta-llama/Meta-Llama-3-8B config.json (Hugging Face hub): num_hidden_layers, num_key_value_heads,
#: hidden_size / num_attention_heads, max_position_embeddings; bf16 is 2 bytes.
LLAMA3_8B = {"layers": 32, "kv_heads": 8, "heads": 32, "hidden": 4096, "context": 8192, "bytes": 2}


def causal_attention(Q, K, V) -> sp.ImmutableMatrix:
    """Row i = Σ_{j ≤ i} softmax_j(q_i·k_j/√d) v_j: the causal mask gives weight 0 to every later key
    (−∞ added before softmax); explicit matrices, query i at position i of the keys."""
    rows = []
    for r in range(Q.rows):
        scores = [sp.exp((Q.row(r) * K.row(c).T)[0, 0] / sp.sqrt(Q.cols)) for c in range(r + 1)]
        total = sp.Add(*scores)
        weights = [s / total for s in scores] + [0] * (K.rows - r - 1)
        rows.append(list(sp.ImmutableMatrix([weights]) * V))
    return sp.ImmutableMatrix(rows)


class CausalAttn(MatrixOperator):
    """``CausalAttn(Q, K, V)``: softmax(QKᵀ/√d + M) V with M = −∞ above the diagonal."""

    name, latex_name = "CausalAttn", r"\operatorname{CausalAttn}"

    @property
    def shape(self):
        return (self.args[0].shape[0], self.args[2].shape[1])

    def expand(self, Q, K, V):
        return causal_attention(Q, K, V)


def cache_bytes(layers: int, kv_heads: int, head_dim: int, tokens: int, nbytes: int) -> int:
    """2 · L · g · d_head · T · b: K and V, for every layer, key/value head and token."""
    return 2 * layers * kv_heads * head_dim * tokens * nbytes


@derivation("kv-cache", "The KV cache: incremental decoding", "modern-llms")
def kv_cache() -> Derivation:
    n = EX_C + 1
    Qc, Kc, Vc = (sp.MatrixSymbol(s, EX_C, EX_DH) for s in ("Q_c", "K_c", "V_c"))
    q, k, v = (sp.MatrixSymbol(s, 1, EX_DH) for s in ("q", "k", "v"))
    Q, K, V = (sp.MatrixSymbol(s, n, EX_DH) for s in ("Q", "K", "V"))
    stacked = ((Q, sp.BlockMatrix([[Qc], [q]])), (K, sp.BlockMatrix([[Kc], [k]])), (V, sp.BlockMatrix([[Vc], [v]])))
    cache, f_cache, f_full = Named("C"), Named("F_cache", r"F_{\mathrm{cache}}"), Named("F_full", r"F_{\mathrm{full}}")
    per_token = 2 * N + 4 * L * h * d_head * (i + 1)  # the token at position i attends to i + 1 keys
    steps = (
        Step(lhs=CausalAttn(Q, K, V)[EX_C, :], rhs=Attn(q, K, V), where=stacked, check=prove("doit"),
             why=f"{EX_C} cached tokens and a new one: the new token's output row, row {EX_C}, is plain attention of its "
                 "query over all keys and values (its mask row is all 0: it may see everything before it)"),
        Step(lhs=CausalAttn(Q, K, V)[:EX_C, :], rhs=CausalAttn(Qc, Kc, Vc), check=prove("doit"),
             why="and the rows of the earlier tokens are what they were without it (their mask hides the new "
                 "key): so in every layer the earlier tokens' inputs, keys and values are unchanged — by "
                 "induction over the layers — and can be kept instead of recomputed"),
        define(cache, sp.Mul(2, L, g, d_head, T, b, evaluate=False),
               "the cache: K and V, in each of L layers, for g K/V heads of width d_head, T tokens, b bytes each"),
        define(f_cache, per_token.subs(i, t - 1),
               "FLOPs for the new token, at position t − 1, with the cache (matrix products, 2 per "
               "multiply-add): 2N for the weight matrices (N weights, embeddings excluded) plus 4·h·d_head·t "
               "per layer for qKᵀ and the weighted sum of V over its t keys (positions 0 … t − 1)"),
        Step(lhs=f_full, rhs=2 * N * t + 2 * L * h * d_head * t * (t + 1), where=((f_full, sp.Sum(per_token, (i, 0, t - 1))),),
             check=prove("doit", "expand"),
             why="without the cache the same token costs a forward pass over all t tokens, positions 0 … t − 1 "
                 "(causal: the token at position i attends to the i + 1 keys at positions 0 … i)"),
        Step(lhs=f_full, rhs=t * f_cache - 2 * L * h * d_head * t * (t - 1), check=prove("doit", "expand"),
             why="about t times the cached cost: recomputing the prefix repeats all its weight products (a "
                 "little less, as the prefix's tokens attend to fewer keys)"),
    )
    c = LLAMA3_8B
    d_h = c["hidden"] // c["heads"]
    example = (
        Step(lhs=cache, rhs=sp.Integer(cache_bytes(c["layers"], c["kv_heads"], d_h, c["context"], c["bytes"])),
             where=((L, c["layers"]), (g, c["kv_heads"]), (d_head, d_h), (T, c["context"]), (b, c["bytes"])),
             check=prove("doit"),
             why="Llama 3 8B at its full context of 8192 tokens in bf16: 2³⁰ bytes = 1 GiB per sequence"),
        Step(lhs=cache, rhs=sp.Integer(cache_bytes(c["layers"], c["heads"], d_h, c["context"], 2)),
             where=((g, c["heads"]),), check=prove("doit"),
             why="with one K/V head per query head (32, no GQA) it would be 4 GiB"),
    )
    return Derivation(
        summary=("A language model generates one token at a time, and each new token attends to all the "
                 "earlier ones. With a causal mask the earlier tokens never see a later one, so appending a "
                 "token changes nothing that was computed for the prefix, in any layer (proved for one "
                 "attention layer, then by induction over the layers). Their keys and values can be kept "
                 "— the KV cache — and the new token's output is ordinary attention of its query over the "
                 "cached keys and values plus its own. Generating the token at position t − 1 (the t-th, attending to "
                 "t keys) then costs about 2N + 4·L·h·d_head·t FLOPs instead of about t times that. The cache costs memory: "
                 "2 · L · g · d_head · T · b bytes, 1 GiB for Llama 3 8B at 8192 tokens in bf16."),
        symbols=(Symbol(Q, "queries of the prefix and the new token, stacked", "(T + 1) × d_head"),
                 Symbol(q, "the new token's query", "1 × d_head"), Symbol(k, "its key", "1 × d_head"),
                 Symbol(v, "its value", "1 × d_head"),
                 Symbol(Kc, "cached keys of the prefix", "T × d_head"),
                 Symbol(Vc, "cached values of the prefix", "T × d_head"),
                 Symbol(Qc, "the prefix's queries (not cached: no later step needs them)", "T × d_head"),
                 Symbol(L, "layers"), Symbol(g, "key/value heads"), Symbol(h, "query heads"),
                 Symbol(d_head, "head width"), Symbol(T, "tokens cached"), Symbol(b, "bytes per number"),
                 Symbol(N, "weights used per token (attention, MLP, LM head; not the embedding table)"),
                 Symbol(t, "tokens so far, the new one included: it is at position t − 1 (positions count from 0)"), Symbol(cache, "cache size in bytes"),
                 Symbol(f_cache, "FLOPs for one token with the cache"),
                 Symbol(f_full, "FLOPs for one token recomputing the prefix")),
        assumptions=(f"the identity is proved for one head, {EX_C} cached tokens and a new one, d_head = {EX_DH}, "
                     "with symbolic entries; heads and layers repeat it",
                     "FLOPs count matrix products only (2 per multiply-add), as torch's FlopCounterMode does; "
                     "norms, softmax and activations are left out",
                     "a forward pass without the cache computes only the causal half of the scores"),
        steps=steps,
        result=Step(lhs=CausalAttn(Q, K, V)[EX_C, :], rhs=Attn(q, K, V), check=prove("doit"),
                    why="the new token's output from its query and the cached K, V (plus its own) is exact"),
        example=example,
        example_title="Llama 3 8B (32 layers, 8 K/V heads of width 128), 8192 tokens, bf16",
        notes=("Sizes from meta-llama/Meta-Llama-3-8B config.json on the Hugging Face hub (num_hidden_layers 32, "
               "num_key_value_heads 8, hidden_size 4096, num_attention_heads 32, max_position_embeddings "
               "8192, torch_dtype bfloat16).",
               "transformers' eager attention computes all t² scores of a full pass and masks half of them, "
               "so a measured no-cache pass costs 4·L·h·d_head·t² in attention, not the causal half."),
        closed_forms=kv_cache_forms,
    )


def kv_cache_forms(layers: int, kv_heads: int, heads: int, head_dim: int, weights: int) -> dict[str, tuple]:
    """``"cache_bytes"``: ((T, b), 2·L·g·d_head·T·b); ``"flops_cached"``: ((t,), 2N + 4·L·h·d_head·t), the
    new token at position t − 1 attending to t keys, for ``weights`` = N matrix weights used per token."""
    for value, label in ((layers, "layers"), (kv_heads, "kv_heads"), (heads, "heads"), (head_dim, "head_dim"),
                         (weights, "weights")):
        positive_int(value, label)
    sizes = {L: layers, g: kv_heads, h: heads, d_head: head_dim, N: weights}
    return {"cache_bytes": ((T, b), (2 * L * g * d_head * T * b).subs(sizes)),
            "flops_cached": ((t,), (2 * N + 4 * L * h * d_head * t).subs(sizes))}
