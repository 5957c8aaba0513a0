r"""Attention masks: −∞ before softmax removes a key exactly.

    a_ij = exp(s_ij + M_ij) / Σ_l exp(s_il + M_il),    M_ij ∈ {0, −∞}

A causal mask (M_ij = −∞ for j > i) stops a token from looking at later tokens; a padding mask
(M_ij = −∞ for padding keys j) hides filler positions. Since exp(−∞) = 0 a masked key gets weight
exactly 0 and the remaining weights still sum to 1. A row with every key masked is 0/0: undefined,
and frameworks disagree on what they return for it.
"""
from __future__ import annotations

import sympy as sp

from explainer.derivations.attention import TOKENS, example_qkv, stable_row_softmax
from explainer.model import Derivation, Step, Symbol, define, prove
from explainer.notation import Named
from explainer.operators import Softmax, row_softmax
from explainer.registry import derivation

s = sp.IndexedBase("s", real=True)
a = sp.IndexedBase("a")
M = sp.IndexedBase("M")
i, j, l = sp.symbols("i j l", integer=True, nonnegative=True)
m = sp.Symbol("m", integer=True, positive=True)
penalty = sp.Symbol("t", positive=True)


def plus(x, y):
    """``x + y`` kept unevaluated, so ``s + (−∞)`` prints before it becomes ``−∞``."""
    return sp.Add(x, y, evaluate=False)


def causal_mask(n: int, m: int) -> sp.ImmutableMatrix:
    """``M_ij = 0`` for ``j ≤ i`` and ``−∞`` for ``j > i`` (n × m)."""
    return sp.ImmutableMatrix(n, m, lambda r, col: 0 if col <= r else -sp.oo)


def padding_mask(n: int, pad: tuple[bool, ...]) -> sp.ImmutableMatrix:
    """``M_ij = −∞`` for every padding key ``j`` (``pad[j]`` true), in every row."""
    return sp.ImmutableMatrix(n, len(pad), lambda _, col: -sp.oo if pad[col] else 0)


def softmax_over(scores: sp.MatrixBase, keep) -> sp.ImmutableMatrix:
    """Row ``r`` is softmax over the keys ``keep(r)`` only, 0 elsewhere: what a mask is meant to do,
    computed without any −∞."""
    rows = []
    for r in range(scores.rows):
        cols = list(keep(r))
        weights = row_softmax(sp.ImmutableMatrix([[scores[r, c] for c in cols]]))
        rows.append([weights[0, cols.index(c)] if c in cols else 0 for c in range(scores.cols)])
    return sp.ImmutableMatrix(rows)


def causal_definition(visible=lambda row, col: col <= row) -> Step:
    """``M[i, j] = 0`` where query i may see key j (``visible``), ``−∞`` elsewhere."""
    return define(M[i, j], sp.Piecewise((0, visible(i, j)), (-sp.oo, True)),
                  "definition: the causal mask lets query i see keys j ≤ i only (a padding mask: −∞ on padding keys)")


def _general_steps() -> tuple:
    """Any row i of m keys, with −∞ as the limit of a finite penalty −t on the hidden keys."""
    Z = Named("Z_t", r"Z_t")
    visible = sp.Sum(sp.exp(s[l]), (l, 0, i))
    hidden = sp.Sum(sp.exp(s[l]), (l, i + 1, m - 1))
    return (
        define(Z, visible + sp.Sum(sp.exp(s[l] - penalty), (l, i + 1, m - 1)),
               "any row i, m keys: replace −∞ by a finite penalty −t on the hidden keys j > i, then let t → ∞"),
        Step(lhs=Z, rhs=visible + sp.exp(-penalty) * hidden, check=prove("sums", "cancel"),
             why="the penalty factors out of the hidden part: exp(s_l − t) = e^{−t} exp(s_l)"),
        Step(lhs=sp.Limit(Z, penalty, sp.oo), rhs=visible, check=prove("sums", "doit"),
             why="e^{−t} → 0: the denominator tends to the sum over the visible keys 0 … i alone"),
        Step(lhs=sp.Limit(sp.exp(s[j] - penalty) / Z, penalty, sp.oo), rhs=sp.Integer(0), check=prove("sums", "doit"),
             why="a hidden key j > i: its weight exp(s_j − t)/Z_t tends to 0"),
        Step(lhs=sp.Limit(sp.exp(s[j]) / Z, penalty, sp.oo), rhs=sp.exp(s[j]) / visible, check=prove("sums", "doit"),
             why="a visible key j ≤ i: softmax over the visible keys"),
        Step(lhs=sp.Sum(sp.exp(s[j]) / visible, (j, 0, i)), rhs=sp.Integer(1),
             why="so each row still sums to 1 (the hidden keys add exactly 0)", check=prove("sums", "cancel")),
    )


def _undefined_row_steps() -> tuple:
    """A fully masked row is 0/0, and the limit depends on how the penalties grow."""
    s0, s1 = s[0], s[1]
    return (
        Step(lhs=sp.Add(sp.exp(plus(s0, -sp.oo), evaluate=False), sp.exp(plus(s1, -sp.oo), evaluate=False),
                        evaluate=False), rhs=sp.Integer(0),
             why="a fully masked row (e.g. a padding query, or every key padding): the denominator is 0, and so is "
                 "every numerator — the weight is 0/0"),
        Step(lhs=sp.exp(s0 - penalty) / (sp.exp(s0 - penalty) + sp.exp(s1 - penalty)),
             rhs=sp.exp(s0) / (sp.exp(s0) + sp.exp(s1)), check=prove("expand", "cancel"),
             why="approaching −∞ with equal penalties gives the unmasked softmax for every t (shift invariance) …"),
        Step(lhs=sp.exp(s0 - penalty) / (sp.exp(s0 - penalty) + sp.exp(s1 - 2 * penalty)),
             rhs=1 / (1 + sp.exp(s1 - s0 - penalty)), check=prove("expand", "cancel"),
             why="… but with penalties t and 2t the weight of key 0 is 1/(1 + e^{s₁−s₀−t}) …"),
        Step(lhs=sp.Limit(1 / (1 + sp.exp(s1 - s0 - penalty)), penalty, sp.oo), rhs=sp.Integer(1),
             why="… which tends to 1: different ways to −∞ give different values, so 0/0 has no value here — it "
                 "is undefined"),
    )


@derivation("attention-masks", "Masks: −∞ before softmax", "attention")
def attention_masks(mask: Step | None = None) -> Derivation:
    """The derivation; ``mask`` replaces the causal mask's definition (tests plant wrong ones)."""
    row = sp.ImmutableMatrix([[s[0], s[1], s[2]]])
    visible_row = softmax_over(row, lambda r: range(2))
    steps = (
        mask or causal_definition(),
        Step(lhs=sp.ImmutableMatrix(3, 3, lambda r, c: sp.exp(M[r, c])), rhs=causal_mask(3, 3).applyfunc(sp.exp),
             check=prove("doit"), why="for three tokens, the factor exp(M[i, j]) that the mask puts on exp(s_j) is 1 "
                                      "on and below the diagonal and 0 above it: later tokens are hidden"),
        Step(lhs=sp.exp(plus(s[0], -sp.oo), evaluate=False), rhs=sp.Integer(0),
             why="exp(s + (−∞)) = 0 for every finite score s: a masked key contributes exactly nothing"),
        define(a[i, j], sp.exp(s[j] + M[i, j]) / sp.Sum(sp.exp(s[l] + M[i, l]), (l, 0, m - 1)),
               "masked weight of key j in row i (row i's scaled scores s_0 … s_{m−1}): add M before softmax"),
        *_general_steps(),
        *_undefined_row_steps(),
        Step(lhs=sp.ImmutableMatrix([[a[1, c] for c in range(3)]]), rhs=visible_row, where=((m, 3),),
             check=prove("doit", "cancel"),
             why="query 1 of three keys: softmax over keys 0 and 1, and exactly 0 on the later key 2"),
    )
    return Derivation(
        summary=("Masks decide which keys a query may look at. The mask M is added to the scaled scores before "
                 "softmax: 0 where looking is allowed, −∞ where it is not (causal mask: later tokens, so a language "
                 "model cannot peek at the word it must predict; padding mask: filler positions of a batch). Since "
                 "exp(−∞) = 0, a masked key gets weight exactly 0 and the visible weights still sum to 1. A row "
                 "with every key masked is 0/0 and has no value; frameworks pick a convention: recent "
                 "torch.nn.functional.scaled_dot_product_attention returns zeros for such a row, "
                 "torch.nn.MultiheadAttention with need_weights=True returns NaN, and a hand-written softmax "
                 "returns NaN."),
        symbols=(Symbol(s[j], "scaled scores of one query row, s_j = q_i·k_j/√d_k", "m"),
                 Symbol(M[i, j], "additive mask: 0 (allowed) or −∞ (masked)", "n × m"),
                 Symbol(a[i, j], "masked attention weight", "n × m"),
                 Symbol(m, "number of keys"), Symbol(i, "query index (visible keys 0 … i under a causal mask)"),
                 Symbol(j, "key index"), Symbol(penalty, "a finite penalty standing in for ∞"),
                 Symbol(Named("Z_t", r"Z_t"), "the softmax denominator with the finite penalty")),
        assumptions=("scores are finite real numbers", "mask entries are 0 or −∞ (additive form; a boolean mask "
                     "means the same with True = masked)", "indices from 0, as in code"),
        steps=steps,
        result=Step(lhs=Softmax(sp.MatAdd(row, causal_mask(3, 3).row(1), evaluate=False)), rhs=visible_row,
                    check=prove("doit", "cancel"),
                    why="softmax(s + M): masked keys get weight exactly 0, the visible ones share the whole weight 1"),
        example=_example(),
        example_title="a causal mask on 'the river bank', and a padded sentence",
        notes=("The general row is proved for a symbolic number of keys m and query position i, with −∞ as the "
               "limit of a finite penalty; the 3-key rows are proved with SymPy's −∞ directly.",),
        closed_forms=mask_forms,
    )


def _example() -> tuple:
    """'the river bank' with a causal mask, then with its last position as padding."""
    Q, K, _ = example_qkv()
    S, C, P = (sp.MatrixSymbol(name, 3, 3) for name in ("S", "M", "P"))
    scores = Q * K.T / sp.sqrt(Q.cols)                              # (3, 3) scaled scores
    causal = softmax_over(scores, lambda r: range(r + 1))           # query r sees keys 0 … r
    padded = softmax_over(scores, lambda r: range(2))               # key 2 is filler
    river = TOKENS.index("river")
    ones = sp.OneMatrix(3, 1)
    return (
        define(S, scores, f"the scaled scores QKᵀ/√d_k of '{' '.join(TOKENS)}'"),
        Step(lhs=Softmax(sp.MatAdd(S, C, evaluate=False)), rhs=causal, where=((C, causal_mask(3, 3)),),
             check=prove("doit", "cancel"),
             why=f"row r is softmax over keys 0 … r: 'the' looks only at itself, river puts "
                 f"≈ {sp.N(causal[river, 0], 3)} on 'the' and {sp.N(causal[river, 1], 3)} on itself, 'bank' sees "
                 f"every key (its row is softmax(S)'s)"),
        Step(lhs=sp.MatMul(Softmax(sp.MatAdd(S, C, evaluate=False)), ones), rhs=sp.ones(3, 1),
             check=prove("doit", "cancel"), why="every row still sums to 1"),
        Step(lhs=Softmax(sp.MatAdd(S, P, evaluate=False)), rhs=padded, where=((P, padding_mask(3, (False, False, True))),),
             check=prove("doit", "cancel"),
             why="padding mask with the third position as filler: every query spreads its weight over the first "
                 "two keys, none on the filler"),
    )


def mask_forms(n: int, m: int, d_k: int, d_v: int) -> dict[str, tuple]:
    """Masked scaled dot-product attention in the stable form:

    ``{"weights": ((Q[n×d_k], K[m×d_k], M[n×m]), softmax(Q Kᵀ/√d_k + M) [n×m]),
       "output":  ((Q, K, V[m×d_v], M), softmax(Q Kᵀ/√d_k + M) V [n×d_v])}``

    ``M`` is additive: 0 where allowed, ``-inf`` (numpy ``-np.inf``) where masked. Fully masked rows are
    undefined (0/0); evaluated with numpy they come out NaN.
    """
    Q, K = sp.MatrixSymbol("Q", n, d_k), sp.MatrixSymbol("K", m, d_k)
    V, Mm = sp.MatrixSymbol("V", m, d_v), sp.MatrixSymbol("M", n, m)
    weights = stable_row_softmax((Q * K.T).as_explicit() / sp.sqrt(d_k) + Mm.as_explicit())   # (n, m)
    return {"weights": ((Q, K, Mm), weights), "output": ((Q, K, V, Mm), weights * V.as_explicit())}
