r"""Attention masks: −∞ before softmax removes a key exactly.

    a_ij = exp(s_ij + M_ij) / Σ_l exp(s_il + M_il),    M_ij ∈ {0, −∞}

A causal mask (M_ij = −∞ for j > i) stops a token from looking at later tokens; a padding mask
(M_ij = −∞ for padding keys j) hides filler positions. Since exp(−∞) = 0 a masked key gets weight
exactly 0 and the remaining weights still sum to 1. A row with every key masked is 0/0: undefined,
and frameworks disagree on what they return for it.
"""
from __future__ import annotations

import sympy as sp

from explainer.derivations.attention import TOKENS, example_qkv, row_softmax, stable_row_softmax
from explainer.model import Derivation, Step, Symbol, define, prove
from explainer.notation import Named
from explainer.registry import derivation

s = sp.IndexedBase("s", real=True)
a = sp.IndexedBase("a")
M = sp.IndexedBase("M")
i, j, l = sp.symbols("i j l", integer=True, nonnegative=True)
m = sp.Symbol("m", integer=True, positive=True)
penalty = sp.Symbol("t", positive=True)
s1, s2, s3 = sp.symbols("s_1 s_2 s_3", real=True)


def plus_inf(x, y):
    """``x + y`` kept unevaluated, so ``s + (−∞)`` prints before it becomes ``−∞``."""
    return sp.Add(x, y, evaluate=False)


def masked_row(scores, mask) -> sp.ImmutableMatrix:
    """``exp(s_j + M_j) / Σ_l exp(s_l + M_l)`` for one row, printed before SymPy evaluates it."""
    exps = [sp.exp(plus_inf(x, mk), evaluate=False) for x, mk in zip(scores, mask)]
    total = sp.Add(*exps, evaluate=False)
    return sp.ImmutableMatrix([[sp.Mul(e, sp.Pow(total, -1, evaluate=False), evaluate=False) for e in exps]])


def causal_mask(n: int, m: int) -> sp.ImmutableMatrix:
    """``M_ij = 0`` for ``j ≤ i`` and ``−∞`` for ``j > i`` (n × m)."""
    return sp.ImmutableMatrix(n, m, lambda r, col: 0 if col <= r else -sp.oo)


def padding_mask(n: int, pad: tuple[bool, ...]) -> sp.ImmutableMatrix:
    """``M_ij = −∞`` for every padding key ``j`` (``pad[j]`` true), in every row."""
    return sp.ImmutableMatrix(n, len(pad), lambda _, col: -sp.oo if pad[col] else 0)


@derivation("attention-masks", "Masks: −∞ before softmax", "attention")
def attention_masks() -> Derivation:
    Z = Named("Z_t", r"Z_t")
    visible = sp.Sum(sp.exp(s[l]), (l, 0, i))
    hidden = sp.Sum(sp.exp(s[l]), (l, i + 1, m - 1))
    row3 = (s1, s2, s3)
    steps = (
        define(M[i, j], sp.Piecewise((0, j <= i), (-sp.oo, True)),
               "definition: the causal mask lets query i see keys j ≤ i only (a padding mask: −∞ on padding keys)"),
        define(a[i, j], sp.exp(s[j] + M[i, j]) / sp.Sum(sp.exp(s[l] + M[i, l]), (l, 0, m - 1)),
               "masked weight of key j in row i (row i's scaled scores s_0 … s_{m−1}): add M before softmax"),
        Step(lhs=sp.exp(plus_inf(s1, -sp.oo), evaluate=False), rhs=sp.Integer(0),
             why="exp(s + (−∞)) = 0 for every finite score s: a masked key contributes exactly nothing"),
        Step(lhs=masked_row(row3, (0, 0, -sp.oo))[0], rhs=sp.exp(s1) / (sp.exp(s1) + sp.exp(s2)),
             why="a row of 3 keys with the last masked: softmax over the visible keys only"),
        Step(lhs=masked_row(row3, (0, 0, -sp.oo))[2], rhs=sp.Integer(0),
             why="and the masked key's weight is exactly 0, not just small"),
        define(Z, visible + sp.Sum(sp.exp(s[l] - penalty), (l, i + 1, m - 1)),
               "any row i, m keys: replace −∞ by a finite penalty −t on the hidden keys j > i, then let t → ∞"),
        Step(lhs=sp.Sum(sp.exp(s[l] - penalty), (l, i + 1, m - 1)), rhs=sp.exp(-penalty) * hidden,
             why="the penalty factors out of the hidden part: exp(s_l − t) = e^{−t} exp(s_l)", check=prove("sums", "cancel")),
        Step(lhs=sp.Limit(sp.exp(-penalty) * hidden, penalty, sp.oo), rhs=sp.Integer(0),
             why="e^{−t} → 0: the denominator tends to the sum over the visible keys 0 … i alone"),
        Step(lhs=sp.Limit(sp.exp(s[j]) * sp.exp(-penalty) / (visible + sp.exp(-penalty) * hidden), penalty, sp.oo),
             rhs=sp.Integer(0), why="a hidden key j > i: its weight exp(s_j − t)/Z_t tends to 0"),
        Step(lhs=sp.Limit(sp.exp(s[j]) / (visible + sp.exp(-penalty) * hidden), penalty, sp.oo),
             rhs=sp.exp(s[j]) / visible, why="a visible key j ≤ i: softmax over the visible keys"),
        Step(lhs=sp.Sum(sp.exp(s[j]) / visible, (j, 0, i)), rhs=sp.Integer(1),
             why="so each row still sums to 1 (the hidden keys add exactly 0)", check=prove("sums", "cancel")),
        Step(lhs=sum(sp.exp(plus_inf(x, -sp.oo), evaluate=False) for x in (s1, s2)), rhs=sp.Integer(0),
             why="a fully masked row (e.g. a padding query, or every key padding): the denominator is 0, and so is "
                 "every numerator — the weight is 0/0"),
        Step(lhs=sp.exp(s1 - penalty) / (sp.exp(s1 - penalty) + sp.exp(s2 - penalty)),
             rhs=sp.exp(s1) / (sp.exp(s1) + sp.exp(s2)), check=prove("expand", "cancel"),
             why="approaching −∞ with equal penalties gives the unmasked softmax for every t (shift invariance) …"),
        Step(lhs=sp.exp(s1 - penalty) / (sp.exp(s1 - penalty) + sp.exp(s2 - 2 * penalty)),
             rhs=1 / (1 + sp.exp(s2 - s1 - penalty)), check=prove("expand", "cancel"),
             why="… but with penalties t and 2t the weight of key 1 is 1/(1 + e^{s₂−s₁−t}) …"),
        Step(lhs=sp.Limit(1 / (1 + sp.exp(s2 - s1 - penalty)), penalty, sp.oo), rhs=sp.Integer(1),
             why="… with penalties t and 2t it gives 1: different ways to −∞ give different values, so 0/0 has no "
                 "value here — it is undefined"),
    )
    Q, K, _ = example_qkv()
    S = Q * K.T / sp.sqrt(Q.cols)                               # (3, 3) scaled scores
    causal = causal_mask(3, 3)
    weights = row_softmax(S + causal)
    river, bank = TOKENS.index("river"), TOKENS.index("bank")
    pad = (False, False, True)                                  # the third position treated as filler
    padded = row_softmax(S + padding_mask(3, pad))
    example = (
        define(Named("S + M"), S + causal,
               f"the masked scores: causal mask on the scaled scores of {' '.join(TOKENS)}: −∞ above the diagonal"),
        Step(lhs=sp.Add(*(sp.exp(S[river, col] + causal[river, col]) for col in range(3)), evaluate=False),
             rhs=sp.exp(S[river, 0]) + sp.exp(S[river, 1]),
             why="river's row: 'bank' comes later and is hidden, exp(−∞) = 0"),
        Step(lhs=masked_row(S.row(river), causal.row(river)), rhs=sp.ImmutableMatrix([[weights[river, 0], weights[river, 1], 0]]),
             why=f"river's weights: ≈ {sp.N(weights[river, 0], 3)} on 'the', {sp.N(weights[river, 1], 3)} on itself, "
                 f"exactly 0 on 'bank'"),
        Step(lhs=sp.Add(*weights.row(river), evaluate=False), rhs=sp.Integer(1), why="and they sum to 1",
             check=prove("cancel")),
        Step(lhs=masked_row(S.row(0), causal.row(0)), rhs=sp.ImmutableMatrix([[1, 0, 0]]),
             why="'the', the first token, can only look at itself: weight 1"),
        Step(lhs=stable_row_softmax(S + causal).row(bank), rhs=row_softmax(S).row(bank),
             why="'bank', the last token, sees everything: its row is unchanged by the causal mask",
             check=prove("expand", "cancel")),
        Step(lhs=padded.col(2), rhs=sp.zeros(3, 1),
             why="padding mask with the third position as filler: no query puts any weight on it"),
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
                 Symbol(Z, "the softmax denominator with the finite penalty"),
                 Symbol(s1, "scores of a small row"), Symbol(s2, "…"), Symbol(s3, "…")),
        assumptions=("scores are finite real numbers", "mask entries are 0 or −∞ (additive form; a boolean mask "
                     "means the same with True = masked)", "indices from 0, as in code"),
        steps=steps,
        result=Step(lhs=masked_row(row3, causal_mask(2, 3).row(1)),
                    rhs=sp.ImmutableMatrix([[sp.exp(s1) / (sp.exp(s1) + sp.exp(s2)),
                                             sp.exp(s2) / (sp.exp(s1) + sp.exp(s2)), 0]]),
                    why="softmax(s + M): masked keys get weight exactly 0, the visible ones share the whole weight 1"),
        example=example,
        example_title="a causal mask on 'the river bank', and a padded sentence",
        notes=("The general row is proved for a symbolic number of keys m and query position i, with −∞ as the "
               "limit of a finite penalty; the 3-key rows are proved with SymPy's −∞ directly.",),
        closed_forms=mask_forms,
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
