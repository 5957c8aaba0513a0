r"""Ring attention (Liu, Zaharia & Abbeel 2023): the sequence split across p devices, keys and values passed round.

    rank r = 0 … p − 1 holds block r of the queries, keys and values (T/p tokens);
    step s = 0 … p − 1: attend to the key/value block of rank r − s (mod p), merge the state (m, ℓ, o)
    with the online-softmax merge, pass the block to rank r + 1.

The online-softmax derivation proves that merging two blocks' states gives exactly attention over their
union; merging is the same in any order, so the order the ring delivers blocks in (own block first,
then the left neighbour's, …) ends with exactly full attention for the rank's queries. A causal mask
puts every key of a later rank's block in the future: its weights are e^{−∞} = 0, so those blocks are
skipped without a single score. K and V make p − 1 hops forward: the bytes of an all-gather of K and V,
with only two blocks in memory at a time.

``explainer verify ring-attention --world-size P`` runs it in P real processes (send/recv around the
ring, a second ring pass for the gradients) against torch.nn.MultiheadAttention, with and without the
causal mask.
"""
from __future__ import annotations

import sympy as sp

from explainer.derivations.online_softmax import merge
from explainer.model import Derivation, Step, Symbol, define, prove
from explainer.notation import Named
from explainer.registry import derivation

s = sp.IndexedBase("s", real=True)
v = sp.IndexedBase("v", real=True)
j = sp.Symbol("j", integer=True, nonnegative=True)
p = sp.Symbol("p", integer=True, positive=True)
r = sp.Symbol("r", integer=True, nonnegative=True)
B, T, d, b = sp.symbols("B T d b", integer=True, positive=True)
V = sp.Symbol("V", integer=True, positive=True)


def attention(keys: int):
    """Σ_j e^{s_j} v_j / Σ_j e^{s_j} over keys 0 … ``keys`` − 1: one query, one value coordinate."""
    return sp.Sum(sp.exp(s[j]) * v[j], (j, 0, keys - 1)) / sp.Sum(sp.exp(s[j]), (j, 0, keys - 1))


def written_out(keys: int):
    """The same average with its terms written out (a limit in one score needs them)."""
    return (sp.Add(*(sp.exp(s[k]) * v[k] for k in range(keys)))
            / sp.Add(*(sp.exp(s[k]) for k in range(keys))))


def _state(name: str, tex: str):
    """Named (m, ℓ, o) of a merged state, e.g. m₀₂, ℓ₀₂, o₀₂ (the ranks whose keys it covers)."""
    return tuple(Named(f"{x}_{name}", f"{t}_{{{tex}}}", real=True)
                 for x, t in (("m", "m"), ("ℓ", r"\ell"), ("o", "o")))


def _ring_merges():
    """Rank 0 of p = 3, one key per rank (rank r holds key r): its own key, then rank 2's, then rank 1's,
    merged with the online-softmax helper; each merged state named. Returns (final o, where-lines)."""
    m02, l02, o02 = _state("02", "02")
    m021, l021, o021 = _state("021", "021")
    named = lambda name: (lambda a, c: name)  # noqa: E731 - print the running max by its name
    _, l_a, o_a = merge(s[0], 1, v[0], s[2], 1, v[2], maximum=named(m02))      # one key: (s_j, 1, v_j)
    _, l_b, o_b = merge(m02, l02, o02, s[1], 1, v[1], maximum=named(m021))
    where = ((m02, sp.Max(s[0], s[2])), (l02, l_a), (o02, o_a),
             (m021, sp.Max(m02, s[1])), (l021, l_b), (o021, o_b))
    return o021, where


def _hops(hops, why: str, **where) -> Step:
    """Values one rank sends: ``hops`` blocks of B·(T/p)·d values."""
    return Step(lhs=sp.Mul(hops, B * T * d / p, evaluate=False), rhs=sp.cancel(hops * B * T * d / p), why=why,
                check=prove("cancel"))


def _bytes_example(ranks: int, batch: int, tokens: int, width: int, nbytes: int, why: str) -> Step:
    value = 2 * (ranks - 1) * batch * tokens * width * nbytes // ranks
    return Step(lhs=2 * (p - 1) * V * b / p, rhs=sp.Integer(value), why=why,
                where=((p, ranks), (V, sp.Mul(batch, tokens, width, evaluate=False)), (b, nbytes)))


@derivation("ring-attention", "Ring attention: the sequence split across devices", "parallelism")
def ring_attention() -> Derivation:
    o_ring, where = _ring_merges()
    steps = (
        Step(lhs=o_ring, rhs=attention(3), where=where,
             why="rank 0 of p = 3 (one key per rank, key r on rank r, for brevity): its own key 0, then "
                 "rank 2's (from its left neighbour), then rank 1's, each merged with the online-softmax "
                 "merge: exactly attention over all three keys", check=prove("doit", "expand", "cancel")),
        Step(lhs=sp.Limit(written_out(3), s[2], -sp.oo), rhs=written_out(2),
             why="causal mask: a key in the future scores −∞, weight e^{−∞} = 0; a block of a later rank is "
                 "all future, so it changes nothing and is skipped — no scores, no merge", check=prove("doit")),
        Step(lhs=sp.Sum(r + 1, (r, 0, p - 1)), rhs=p * (p + 1) / 2,
             why="with the causal mask rank r computes r + 1 of the p blocks (ranks 0 … r): p(p + 1)/2 block "
                 "products instead of p², about half (rank p − 1 does p, rank 0 only one: the work is uneven)",
             check=prove("doit", "factor")),
        _hops(2 * (p - 1), "forward: K and V blocks (B·T/p·d values each) make p − 1 hops — the volume of "
                           "an all-gather of K and V, but each rank holds only two blocks at a time"),
        _hops(2 * (p - 1) + 2 * p, "backward: a second ring pass; K, V make p − 1 hops again and the "
                                   "gradients dK, dV travel with them, p hops to arrive home"),
    )
    example = (
        _bytes_example(2, 2, 16, 64, 8, "the reference problem of explainer verify (p = 2, B = 2, T = 16, "
                                        "d = 64, float64): bytes each rank sends forward"),
        _bytes_example(4, 2, 16, 64, 8, "the same with p = 4 ranks"),
        _bytes_example(8, 1, 2 ** 20, 1024, 2, "a million tokens on p = 8 devices (K, V width 1024, "
                                               "bfloat16): about 3.8 GB out of each rank, hidden behind the "
                                               "block arithmetic"),
    )
    return Derivation(
        summary=("Ring attention splits a long sequence across p devices: rank r holds T/p tokens' queries, "
                 "keys and values. The key/value blocks travel around a ring; at each step a rank attends its "
                 "queries to the block it holds, merges the result into its running state (max, sum, output) "
                 "with the online-softmax merge, and passes the block on. Merging is the same in any order, so "
                 "after p steps every rank has exactly full attention for its queries, while holding only two "
                 "blocks at a time. A causal mask makes later ranks' blocks entirely future: they are skipped, "
                 "about half the block products. K and V cross the ring p − 1 times: the bytes of an "
                 "all-gather, overlapped with the arithmetic."),
        symbols=(Symbol(s[j], "score of key j for one query, q·k_j/√d_k"), Symbol(v[j], "value of key j"),
                 Symbol(o_ring, "rank 0's output after the ring: its state merged in ring order"),
                 Symbol(p, "number of ranks; divides T"), Symbol(r, "a rank, 0 … p − 1 (as torch.distributed numbers them)"),
                 Symbol(B, "batch size"), Symbol(T, "tokens per sequence"),
                 Symbol(d, "width of K (and of V)"), Symbol(V, "values in K or V, B·T·d"),
                 Symbol(b, "bytes per value")),
        assumptions=("the online-softmax merge: two states merge to attention over the union of their keys "
                     "(proved in online-softmax), the empty state is (−∞, 0, 0)",
                     "rank r holds tokens r·T/p … (r + 1)·T/p − 1; at step s it holds block r − s (mod p)",
                     "one value coordinate shown; every coordinate of v_j is the same computation"),
        steps=steps,
        result=Step(lhs=o_ring, rhs=attention(3),
                    why="after p steps each rank's merged state is exactly attention over all T keys for its "
                        "queries; K and V cross 2(p − 1)·B·T/p·d values per rank", check=prove("doit", "expand",
                                                                                            "cancel")),
        example=example,
        example_title="bytes one rank sends forward: 2(p − 1)/p · B·T·d · b",
        notes=("The ring merge is proved for p = 3 ranks (0, 1, 2) of one key each (symbolic scores and values); "
               "online-softmax proves the merge for blocks of any size; the block count and the volumes for "
               "symbolic p.",
               "explainer verify ring-attention --world-size P runs it in P processes with real send/recv, "
               "compares output and every gradient with torch.nn.MultiheadAttention (with and without the "
               "causal mask), and measures the bytes each rank sends against these formulas."),
    )
