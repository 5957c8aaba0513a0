r"""Attention: scores, scaled dot-product attention, and why word order is invisible to it.

    S = Q Kᵀ,   s_ij = q_i · k_j                           (attention-scores)
    Attention(Q, K, V) = softmax(Q Kᵀ / √d_k) V              (scaled-dot-product-attention)
    Attention(P X) = P · Attention(X)  for a permutation P   (permutation-equivariance)

Every token asks a question (its query row q_i), every token offers a label (its key row k_j) and a
content (its value row v_j). The score q_i·k_j says how well key j answers query i; softmax turns a
row of scores into weights that are positive and sum to 1; the output row i is the weighted average
of the value rows — the word's new, context-aware representation. "bank" next to "river" takes in
some of river's value and moves towards the riverside meaning.

The worked examples share one sentence, "the river bank", with 2-D embeddings, 4-D queries and keys
(so √d_k = 2) and 2-D values; :func:`example_qkv` builds them.
"""
from __future__ import annotations

from dataclasses import replace

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from explainer.model import Derivation, Step, Symbol, define, prove
from explainer.operators import Attn, Row, SelfAttn, Softmax, negate, row_softmax
from explainer.notation import Named
from explainer.registry import derivation

# --- the shared example: "the river bank" ------------------------------------------------------
TOKENS = ("the", "river", "bank")
X_EXAMPLE = sp.ImmutableMatrix([[1, 0], [0, 1], [1, 1]])                  # (3 tokens, d_model=2)
WQ_EXAMPLE = sp.ImmutableMatrix([[0, -1, 0, 1], [0, 1, 0, 1]])            # (d_model=2, d_k=4)
WK_EXAMPLE = sp.ImmutableMatrix([[-1, 0, -1, -1], [1, 1, -1, 1]])         # (d_model=2, d_k=4)
WV_EXAMPLE = sp.ImmutableMatrix([[1, 0], [0, 2]])                         # (d_model=2, d_v=2)


def example_qkv() -> tuple[sp.ImmutableMatrix, sp.ImmutableMatrix, sp.ImmutableMatrix]:
    """``Q = X W_Q`` (3, 4), ``K = X W_K`` (3, 4), ``V = X W_V`` (3, 2) of the example sentence."""
    return X_EXAMPLE * WQ_EXAMPLE, X_EXAMPLE * WK_EXAMPLE, X_EXAMPLE * WV_EXAMPLE


def entry(M, row, col) -> MatrixElement:
    """Entry ``(row, col)`` of a matrix expression, kept unevaluated so it prints as ``(XW)[i, j]``."""
    return MatrixElement(M, row, col)


# --- row-wise softmax on explicit matrices (row_softmax, the definition, is explainer.operators') ---
def stable_row_softmax(S: sp.MatrixBase) -> sp.ImmutableMatrix:
    """Row-wise softmax with the row maximum subtracted first (the form code evaluates; equal to
    :func:`row_softmax` by shift invariance, see the ``softmax`` derivation)."""
    rows = []
    for r in range(S.rows):
        top = sp.Max(*S.row(r))
        exps = [sp.exp(S[r, c] - top) for c in range(S.cols)]
        total = sp.Add(*exps)
        rows.append([e / total for e in exps])
    return sp.ImmutableMatrix(rows)


def attention_matrix(Q, K, V, scale=None, softmax=row_softmax) -> sp.ImmutableMatrix:
    """``softmax(Q Kᵀ / √d_k) V`` for explicit matrices (``scale`` defaults to ``1/√d_k``)."""
    Q, K, V = (sp.ImmutableMatrix(sp.Matrix(M)) for M in (Q, K, V))
    scale = 1 / sp.sqrt(Q.cols) if scale is None else scale
    return softmax(Q * K.T * scale) * V


# --- closed forms for the numeric engine -------------------------------------------------------
def scores_forms(n: int, m: int, d_k: int) -> dict[str, tuple]:
    """Raw scores: ``{"scores": ((Q[n×d_k], K[m×d_k]), Q Kᵀ [n×m])}``."""
    Q, K = sp.MatrixSymbol("Q", n, d_k), sp.MatrixSymbol("K", m, d_k)
    return {"scores": ((Q, K), (Q * K.T).as_explicit())}


def sdpa_forms(n: int, m: int, d_k: int, d_v: int) -> dict[str, tuple]:
    """Scaled dot-product attention in the stable form:

    ``{"weights": ((Q[n×d_k], K[m×d_k]), softmax(Q Kᵀ/√d_k) [n×m]),
       "output":  ((Q, K, V[m×d_v]), softmax(Q Kᵀ/√d_k) V [n×d_v])}``.
    """
    Q, K, V = sp.MatrixSymbol("Q", n, d_k), sp.MatrixSymbol("K", m, d_k), sp.MatrixSymbol("V", m, d_v)
    weights = stable_row_softmax((Q * K.T).as_explicit() / sp.sqrt(d_k))  # (n, m)
    return {"weights": ((Q, K), weights), "output": ((Q, K, V), weights * V.as_explicit())}


def with_values(expr, values: dict):
    """``expr`` with matrix symbols replaced by explicit matrices (entry by entry)."""
    subs = {M[r, c]: v[r, c] for M, v in values.items() for r in range(v.rows) for c in range(v.cols)}
    return expr.xreplace(subs)


# --- attention-scores ---------------------------------------------------------------------------
n, m = sp.symbols("n m", integer=True, positive=True)
d_model, d_k, d_v = sp.symbols("d_model d_k d_v", integer=True, positive=True)
i, j, c, f, l = sp.symbols("i j c f l", integer=True, nonnegative=True)


@derivation("attention-scores", "Attention scores: every query against every key", "attention")
def attention_scores() -> Derivation:
    Q, K = sp.MatrixSymbol("Q", n, d_k), sp.MatrixSymbol("K", m, d_k)
    S = sp.MatrixSymbol("S", n, m)
    X = sp.MatrixSymbol("X", n, d_model)
    WQ, WK = sp.MatrixSymbol("W_Q", d_model, d_k), sp.MatrixSymbol("W_K", d_model, d_k)
    W = sp.MatrixSymbol("W", d_model, d_k)
    qk = Named("q_i·k_j", r"\mathbf{q}_i\cdot\mathbf{k}_j")
    dot_sum = sp.Sum(Q[i, c] * K[j, c], (c, 0, d_k - 1))
    Q2, K3 = sp.MatrixSymbol("Q", 2, 2), sp.MatrixSymbol("K", 3, 2)
    dots = sp.ImmutableMatrix(2, 3, lambda a, b: Q2[a, 0] * K3[b, 0] + Q2[a, 1] * K3[b, 1])
    steps = (
        define(S, Q * K.T, "definition: the score matrix, one row per query token, one column per key token (n × m)"),
        Step(lhs=S[i, j], rhs=dot_sum,
             why="entry (i, j) of a matrix product: row i of Q times column j of Kᵀ, which is row j of K"),
        define(qk, dot_sum, "the dot product of the dot-product derivation, with q_i = row i of Q and k_j = row j of K"),
        Step(lhs=S[i, j], rhs=qk, why="so every score is one dot product: how well key j answers query i"),
        Step(lhs=sp.MatMul(Q2, K3.T), rhs=dots,
             why="written out for 2 queries and 3 keys of width 2 (symbolic entries): a 2 × 3 table of dot products"),
        Step(lhs=_mul(_mul(X, WQ), sp.Transpose(_mul(X, WK))), rhs=X * WQ * WK.T * X.T,
             why="through the projections Q = XW_Q, K = XW_K: S = X W_Q W_Kᵀ Xᵀ, a bilinear form in the embeddings"),
        Step(lhs=sp.Transpose(X * W * W.T * X.T), rhs=X * W * W.T * X.T,
             why="if W_Q = W_K = W the scores are symmetric (s_ij = s_ji); separate projections let "
                 "'bank' look for 'river' without 'river' looking for 'bank' as much"),
    )
    Qe, Ke, _ = example_qkv()
    Se = Qe * Ke.T
    b, r, t = (TOKENS.index(w) for w in ("bank", "river", "the"))
    best = TOKENS[max(range(3), key=lambda col: Se[b, col])]
    example = (
        Step(lhs=sp.MatMul(X_EXAMPLE, WQ_EXAMPLE), rhs=Qe,
             why=f"queries Q = XW_Q for {', '.join(TOKENS)} (embeddings X are 2-D, queries 4-D)"),
        Step(lhs=sp.MatMul(X_EXAMPLE, WK_EXAMPLE), rhs=Ke, why="keys K = XW_K"),
        Step(lhs=sp.MatMul(Qe, Ke.T), rhs=Se, why="all 9 scores at once: S = QKᵀ (row = query word, column = key word)"),
        Step(lhs=sp.MatMul(Qe.row(b), Ke.row(r).T), rhs=sp.ImmutableMatrix([[Se[b, r]]]),
             why=f"'bank' asking 'river': " + " + ".join(f"({x})({y})" for x, y in zip(Qe.row(b), Ke.row(r)))
                 + f" = {Se[b, r]}, the largest score in bank's row, which points at '{best}'"),
        Step(lhs=sp.MatMul(Qe.row(r), Ke.row(b).T), rhs=sp.ImmutableMatrix([[Se[r, b]]]),
             why=f"'river' asking 'bank' scores {Se[r, b]}, not {Se[b, r]}: scores are not symmetric"),
        Step(lhs=sp.Integer(Se[b, r]), rel=">", rhs=sp.Integer(Se[b, t]),
             why=f"bank prefers river ({Se[b, r]}) to the ({Se[b, t]})"),
    )
    return Derivation(
        summary=("Attention starts by scoring every pair of tokens: the query of token i against the key of "
                 "token j, by their dot product. Stacking the queries as the rows of Q and the keys as the rows "
                 "of K, all scores at once are the matrix product S = QKᵀ, with n rows (queries) and m columns "
                 "(keys). A large score means key j answers the question query i asks; because queries and keys "
                 "come from different projections, 'bank' can look for 'river' more than 'river' looks for "
                 "'bank'. These raw scores are what softmax turns into attention weights."),
        symbols=(Symbol(Q, "queries: row i is token i's query q_i", "n × d_k"),
                 Symbol(K, "keys: row j is token j's key k_j", "m × d_k"),
                 Symbol(S, "raw attention scores", "n × m"),
                 Symbol(X, "token embeddings, one row per token", "n × d_model"),
                 Symbol(WQ, "query projection", "d_model × d_k"), Symbol(WK, "key projection", "d_model × d_k"),
                 Symbol(n, "number of query tokens"), Symbol(m, "number of key tokens (m = n in self-attention)"),
                 Symbol(d_k, "query/key width"), Symbol(i, "query index, 0 ≤ i < n (from 0, as in code)"),
                 Symbol(j, "key index, 0 ≤ j < m"), Symbol(c, "feature index, 0 ≤ c < d_k")),
        assumptions=("real matrices; queries and keys have the same width d_k",
                     "row-vector convention: one token per row (Q = XW_Q, as code writes it)"),
        steps=steps,
        result=Step(lhs=S[i, j], rhs=dot_sum, why="s_ij = q_i·k_j = Σ_c Q_ic K_jc: the raw score of key j for query i"),
        example=example,
        example_title="'the river bank': which word does 'bank' look at?",
        notes=("The matrix identities with symbolic sizes are proved entry by entry (entry (i, j) of a product is "
               "a sum over the shared index); the 2 × 3 table is proved for symbolic entries.",),
        closed_forms=scores_forms,
    )


# --- scaled-dot-product-attention --------------------------------------------------------------
@derivation("scaled-dot-product-attention", "Scaled dot-product attention", "attention")
def scaled_dot_product_attention() -> Derivation:
    Qi, Ki, Vi = (sp.IndexedBase(name, real=True) for name in ("Q", "K", "V"))
    a, o, s = sp.IndexedBase("a"), sp.IndexedBase("o"), sp.IndexedBase("s", real=True)
    A, Vm = sp.MatrixSymbol("A", n, m), sp.MatrixSymbol("V", m, d_v)
    low = sp.Symbol("v_min", real=True)
    g = sp.IndexedBase("g", nonnegative=True)
    const = sp.Symbol("s_0", real=True)
    Q2, K3, V3, A3 = (sp.MatrixSymbol(*spec) for spec in (("Q", 2, 2), ("K", 3, 2), ("V", 3, 2), ("A", 2, 3)))
    S2, M2, V2 = sp.MatrixSymbol("S", 2, 2), sp.MatrixSymbol("M", 2, 2), sp.MatrixSymbol("V", 2, 1)
    row_max = sp.ImmutableMatrix(2, 2, lambda r, col: sp.Max(S2[r, 0], S2[r, 1]))
    weight = sp.exp(s[i, j]) / sp.Sum(sp.exp(s[i, l]), (l, 0, m - 1))
    steps = (
        define(s[i, j], scaled_score(Qi, Ki, j), "scaled score: q_i·k_j divided by √d_k (see softmax-scaling for why)"),
        define(a[i, j], weight, "attention weight: softmax along row i, over the m keys"),
        Step(lhs=a[i, j], rel=">", rhs=0, why="every weight is positive: exp is positive and so is a sum of exps"),
        Step(lhs=sp.Sum(a[i, j], (j, 0, m - 1)), rhs=sp.Integer(1),
             why="each row of weights sums to 1: the denominator is the sum of the numerators",
             check=prove("sums", "cancel")),
        Step(lhs=entry(A * Vm, i, c), rhs=sp.Sum(A[i, j] * Vm[j, c], (j, 0, m - 1)),
             why="output = weights times values: row i of AV is Σ_j a_ij v_j, a weighted sum of value rows"),
        define(o[i, c], sp.Sum(a[i, j] * Vi[j, c], (j, 0, m - 1)), "so output row i, feature c, with the weights above"),
        Step(lhs=o[i, c] - low, rhs=sp.Sum(a[i, j] * (Vi[j, c] - low), (j, 0, m - 1)),
             why="weights summing to 1 let any constant v_min move inside the sum", check=prove("sums", "cancel")),
        Step(lhs=sp.Sum(a[i, j] * g[j], (j, 0, m - 1)), rel=">=", rhs=0,
             why="with v_min the smallest value (g_j = v_jc − v_min ≥ 0) every term is ≥ 0: o_ic ≥ v_min; likewise "
                 "o_ic ≤ v_max — a convex combination never leaves the range of the values"),
        Step(lhs=sp.exp(const) / sp.Sum(sp.exp(const), (l, 0, m - 1)), rhs=1 / m,
             why="equal scores for all keys: uniform weights 1/m, the output is the plain average of the values"),
        Step(lhs=Attn(Q2, K3, V3), rhs=_mul(A3, V3), where=((A3, Softmax(Q2 * K3.T / sp.sqrt(2))),),
             why="in matrix form, Attn(Q, K, V) is the weight matrix A = softmax(QKᵀ/√d_k) times V (2 queries, "
                 "3 keys, d_k = d_v = 2, symbolic entries): row i of A holds the weights a_ij above",
             check=prove("doit", "cancel")),
        Step(lhs=_mul(Softmax(sp.MatAdd(S2, negate(M2), evaluate=False)), V2), rhs=_mul(Softmax(S2), V2),
             where=((M2, row_max),),
             why="the stable form code evaluates: subtracting each row's maximum before exp gives the same "
                 "output (2 queries, 2 keys, d_v = 1, symbolic scores S)", check=prove("doit", "expand", "cancel")),
    )
    Qe, Ke, Ve = example_qkv()
    b = TOKENS.index("bank")
    scaled = Qe.row(b) * Ke.T / sp.sqrt(Qe.cols)
    names = [Named(f"a_{w}", rf"a_{{\mathrm{{{w}}}}}") for w in TOKENS]
    total = sum(sp.exp(x) for x in scaled)
    weights = [sp.exp(x) / total for x in scaled]
    mixed = sp.ImmutableMatrix([[sp.factor(sp.simplify(x)) for x in
                                 sum((w * Ve.row(t) for t, w in enumerate(weights)), sp.zeros(1, Ve.cols))]])
    q_bank, K_, Q_, V_ = (sp.MatrixSymbol(*spec) for spec in (("q_bank", 1, 4), ("K", 3, 4), ("Q", 3, 4), ("V", 3, 2)))
    v_rows = [sp.MatrixSymbol(f"v_{w}", 1, 2) for w in TOKENS]
    example = (
        Step(lhs=_mul(q_bank, K_.T) / 2, rhs=scaled, where=((q_bank, Qe.row(b)), (K_, Ke)),
             why=f"bank's scaled scores q_bank·k_j/√4 against {', '.join(TOKENS)}: {', '.join(map(str, scaled))} "
                 "(Q = XW_Q, K = XW_K as in attention-scores)"),
        *(define(nm, w, f"weight on '{tok}' ≈ {sp.N(w, 4)}") for nm, w, tok in zip(names, weights, TOKENS)),
        Step(lhs=sp.Add(*names, evaluate=False), rhs=sp.Integer(1), why="the three weights sum to 1",
             check=prove("cancel")),
        Step(lhs=sp.MatAdd(*(sp.MatMul(nm, v, evaluate=False) for nm, v in zip(names, v_rows)), evaluate=False),
             rhs=mixed, where=tuple(zip(v_rows, (Ve.row(t) for t in range(3)))),
             why=f"bank's new vector: {sp.N(weights[1], 3)} of river's value, {sp.N(weights[2], 3)} of its own, "
                 f"{sp.N(weights[0], 3)} of the's ≈ {tuple(sp.N(x, 4) for x in mixed)}",
             check=prove("doit", "cancel")),
        Step(lhs=Row(Attn(Q_, K_, V_), b), rhs=mixed, where=((Q_, Qe), (V_, Ve)),
             why="the same row of Attn(Q, K, V) = softmax(QKᵀ/√d_k)V computed for all three words at once",
             check=prove("doit", "cancel")),
        Step(lhs=mixed[1], rel="<=", rhs=max(Ve.col(1)),
             why="a convex combination: each coordinate stays between the smallest and largest value coordinate"),
    )
    return Derivation(
        summary=("Scaled dot-product attention turns each token into a context-aware vector. Row i of the "
                 "scores QKᵀ, divided by √d_k to keep their spread independent of the width, goes through "
                 "softmax: weights that are positive and sum to 1. The output row i is the weighted average "
                 "Σ_j a_ij v_j of the value rows, a convex combination: it lies inside the range the values "
                 "span, and equal scores give the plain average. In 'the river bank', 'bank' puts most weight "
                 "on 'river' and its new vector moves towards river's value: the riverside sense."),
        symbols=(Symbol(Qi[i, c], "queries, row i = q_i", "n × d_k"),
                 Symbol(Ki[j, c], "keys, row j = k_j", "m × d_k"),
                 Symbol(Vi[j, c], "values, row j = v_j", "m × d_v"),
                 Symbol(s[i, j], "scaled score q_i·k_j/√d_k", "n × m"),
                 Symbol(a[i, j], "attention weight (row-wise softmax of s)", "n × m"),
                 Symbol(o[i, c], "output: row i is token i's new representation", "n × d_v"),
                 Symbol(A, "the weight matrix (a_ij)", "n × m"),
                 Symbol(d_k, "query/key width"), Symbol(d_v, "value width"),
                 Symbol(f, "query/key feature index, 0 ≤ f < d_k"), Symbol(c, "value feature index, 0 ≤ c < d_v"),
                 Symbol(n, "queries"), Symbol(m, "keys and values"),
                 Symbol(low, "the smallest value coordinate, min_j v_jc"),
                 Symbol(g[j], "gap v_jc − v_min ≥ 0"), Symbol(const, "a common score")),
        assumptions=("real Q, K, V; m ≥ 1 keys", "indices from 0, as in code; one token per row",
                     "no mask (see attention-masks) and no dropout"),
        steps=steps,
        result=Step(lhs=o[i, c], rhs=sp.Sum(weight * Vi[j, c], (j, 0, m - 1)),
                    why="Attention(Q, K, V) = softmax(QKᵀ/√d_k) V, row i and feature c, with s_ij = q_i·k_j/√d_k",
                    check=prove("doit", "sums", "cancel")),
        example=example,
        example_title="the context-aware vector of 'bank' in 'the river bank'",
        notes=("The matrix form is proved for symbolic entries at 2 queries × 3 keys; the entry formulas hold for "
               "symbolic sizes.",),
        closed_forms=sdpa_forms,
    )


def scaled_score(Qi, Ki, key):
    """``q_i·k_key/√d_k = Σ_f Q_if K_key,f / √d_k`` on indexed queries and keys."""
    return sp.Sum(Qi[i, f] * Ki[key, f], (f, 0, d_k - 1)) / sp.sqrt(d_k)


def score_softmax(Qi, Ki):
    """``exp(q_i·k_j/√d_k) / Σ_l exp(q_i·k_l/√d_k)`` on indexed queries and keys."""
    return sp.exp(scaled_score(Qi, Ki, j)) / sp.Sum(sp.exp(scaled_score(Qi, Ki, l)), (l, 0, m - 1))


def _entry_formula(Q, K, V, row: int, col: int):
    """Entry (row, col) of the output from the definitions: Σ_j a_row,j v_j,col with
    a_row,j = exp(q·k_j/√d_k) / Σ_l exp(q·k_l/√d_k) (explicit sizes)."""
    width, keys = Q.shape[1], K.shape[0]
    score = [sum(Q[row, f] * K[key, f] for f in range(width)) / sp.sqrt(width) for key in range(keys)]
    total = sum(sp.exp(x) for x in score)
    return sum(sp.exp(score[key]) / total * V[key, col] for key in range(keys))


# --- permutation-equivariance ------------------------------------------------------------------
def _mul(*factors):
    """The product as written, grouping kept: ``_mul(_mul(P, X), W)`` prints ``(P⋅X)⋅W``."""
    return sp.MatMul(*factors, evaluate=False)


def _cycle_of(P) -> tuple:
    """π with row i of P·X equal to row π(i) of X."""
    return tuple(int(list(P.row(r)).index(1)) for r in range(P.rows))


CYCLE = sp.ImmutableMatrix([[0, 0, 1], [1, 0, 0], [0, 1, 0]])   # row i of PX is row π(i) of X: π = (2, 0, 1)
REVERSE = sp.ImmutableMatrix([[0, 0, 1], [0, 1, 0], [1, 0, 0]])  # "the river bank" -> "bank river the"


def self_attention(X, WQ, WK, WV) -> sp.ImmutableMatrix:
    """``softmax(XW_Q (XW_K)ᵀ/√d_k) XW_V`` for explicit matrices."""
    X = sp.ImmutableMatrix(sp.Matrix(X))
    return attention_matrix(X * WQ, X * WK, X * WV)


@derivation("permutation-equivariance", "Attention ignores word order (without positions)", "attention")
def permutation_equivariance() -> Derivation:
    P = sp.MatrixSymbol("P", n, n)
    X = sp.MatrixSymbol("X", n, d_model)
    W = sp.MatrixSymbol("W", d_model, d_k)
    Q, K = sp.MatrixSymbol("Q", n, d_k), sp.MatrixSymbol("K", n, d_k)
    P3, R3 = sp.MatrixSymbol("P", 3, 3), sp.MatrixSymbol("R", 3, 3)
    S3, A3, V3 = sp.MatrixSymbol("S", 3, 3), sp.MatrixSymbol("A", 3, 3), sp.MatrixSymbol("V", 3, 2)
    X3 = sp.MatrixSymbol("X", 3, 2)
    weights = tuple(sp.MatrixSymbol(name, 2, 2) for name in ("W_Q", "W_K", "W_V"))

    def attn(M, W=weights):
        return SelfAttn(M, *W)

    layer = Step(lhs=attn(_mul(P3, X3)), rhs=_mul(P3, attn(X3)),
                 why="the whole layer, symbolic X (3 × 2) and W_Q, W_K, W_V (2 × 2), P the cycle above: "
                     "Attn(PX) = P·Attn(X), with Attn(X) = softmax(XW_Q (XW_K)ᵀ/√d_k) XW_V")
    steps = (
        Step(lhs=_mul(_mul(P, X), W), rhs=_mul(P, _mul(X, W)),
             why="projections act on each row separately: (PX)W = P(XW), so Q, K and V are reordered the same way"),
        Step(lhs=_mul(_mul(P, Q), sp.Transpose(_mul(P, K))), rhs=_mul(P, _mul(Q, K.T), P.T),
             why="(PQ)(PK)ᵀ = P (QKᵀ) Pᵀ: the score table has its rows and its columns reordered"),
        Step(lhs=_mul(P3.T, P3), rhs=sp.Identity(3), where=((P3, CYCLE),),
             why=f"a permutation matrix (here row i of PX is row π(i) of X, π = {_cycle_of(CYCLE)}) is "
                 "orthogonal: PᵀP = I"),
        Step(lhs=Softmax(_mul(P3, S3, P3.T)), rhs=_mul(P3, Softmax(S3), P3.T),
             why="softmax(PSPᵀ) = P softmax(S) Pᵀ (symbolic S, P as above): each row keeps the same entries, only "
                 "reordered, and a sum does not depend on the order of its terms"),
        Step(lhs=_mul(_mul(P3, A3, P3.T), _mul(P3, V3)), rhs=_mul(P3, _mul(A3, V3)),
             why="the reordered weights PAPᵀ meet the reordered values PV: PA(PᵀP)V = P(AV), since PᵀP = I"),
        layer,
        Step(lhs=attn(_mul(R3, X3)), rhs=_mul(R3, attn(X3)), where=((R3, REVERSE),),
             why="and for R, the swap of the first and last tokens, the same"),
    )
    b = TOKENS.index("bank")
    Xe, order = sp.MatrixSymbol("X", 3, 2), "bank river the"
    We = tuple(sp.MatrixSymbol(name, *M.shape) for name, M in
               (("W_Q", WQ_EXAMPLE), ("W_K", WK_EXAMPLE), ("W_V", WV_EXAMPLE)))
    E, g = sp.MatrixSymbol("E", 3, 2), sp.MatrixSymbol("g", 1, 2)
    pos = sp.ImmutableMatrix([[0, 1], [1, 0], [1, 1]]) / 2                 # (3 positions, d_model=2)
    values = dict(zip(We, (WQ_EXAMPLE, WK_EXAMPLE, WV_EXAMPLE)))
    out = self_attention(X_EXAMPLE, WQ_EXAMPLE, WK_EXAMPLE, WV_EXAMPLE)
    gap = (self_attention(X_EXAMPLE + pos, WQ_EXAMPLE, WK_EXAMPLE, WV_EXAMPLE).row(b)
           - self_attention(REVERSE * X_EXAMPLE + pos, WQ_EXAMPLE, WK_EXAMPLE, WV_EXAMPLE).row(0))
    example = (
        Step(lhs=Row(attn(_mul(R3, Xe), We), 0), rhs=Row(attn(Xe, We), b),
             where=((Xe, X_EXAMPLE), *values.items()),
             why=f"'bank' gets exactly the same vector in '{order}' (row 0) as in 'the river bank' (row 2): "
                 f"≈ {tuple(sp.N(x, 3) for x in out.row(b))}; X and W as in attention-scores"),
        Step(lhs=MatrixElement(_mul(g, g.T), 0, 0), rel=">", rhs=0,
             where=((g, sp.MatAdd(Row(attn(Xe + E, We), b), negate(Row(attn(_mul(R3, Xe) + E, We), 0)), evaluate=False)), (E, pos)),
             why=f"with position vectors E added (by position, not by word) bank's two vectors differ: squared gap "
                 f"≈ {sp.N((gap * gap.T)[0], 3)}; now order matters"),
    )
    return Derivation(
        summary=("Self-attention on its own cannot see word order: reorder the input tokens (multiply X by a "
                 "permutation matrix P) and the output rows are reordered the same way, each word's vector "
                 "unchanged. The projections act row by row, the score table gets its rows and columns permuted, "
                 "softmax of a permuted row is the permuted softmax, and PᵀP = I. So 'the river bank' and 'bank "
                 "river the' give 'bank' the same vector. That is why transformers add positional encodings: a "
                 "vector that depends on the position, not on the word, breaks the symmetry."),
        symbols=(Symbol(P, "permutation matrix: row i is the standard basis row e_π(i), so (PX)_i = X_π(i)", "n × n"),
                 Symbol(X, "token embeddings, one row per token, no positional information", "n × d_model"),
                 Symbol(W, "any of the projections W_Q, W_K, W_V", "d_model × d_k"),
                 Symbol(Q, "queries XW_Q", "n × d_k"), Symbol(K, "keys XW_K", "n × d_k"),
                 Symbol(S3, "scores (3 tokens)", "3 × 3"), Symbol(A3, "softmax weights softmax(S)", "3 × 3"),
                 Symbol(V3, "values XW_V", "3 × 2"), Symbol(R3, "the swap of the first and last token", "3 × 3")),
        assumptions=("self-attention: queries, keys and values all come from the same X",
                     "no mask and no positional encoding", "P is a permutation matrix"),
        steps=steps,
        result=replace(layer, why="Attn(PX) = P·Attn(X): attention is permutation-equivariant"),
        example=example,
        example_title="'the river bank' against 'bank river the'",
        notes=("The linear steps hold for every size and every P (proved entry by entry). The softmax step and the "
               "whole layer are proved for symbolic entries with 3 tokens and the permutations shown; for general "
               "n the same reasoning applies: (PSPᵀ)_ij = s_π(i)π(j), and Σ_l exp(s_π(i)π(l)) = Σ_l exp(s_π(i)l) "
               "because π is a bijection (a sum does not depend on the order of its terms).",),
    )
