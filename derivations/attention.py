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

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

from explainer.model import Derivation, Step, Symbol, define, prove
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


# --- row-wise softmax on explicit matrices ----------------------------------------------------
def row_softmax(S: sp.MatrixBase) -> sp.ImmutableMatrix:
    """``exp(s_ij) / Σ_l exp(s_il)`` for every row of an explicit matrix (the definition)."""
    rows = []
    for r in range(S.rows):
        exps = [sp.exp(S[r, c]) for c in range(S.cols)]
        total = sp.Add(*exps)
        rows.append([e / total for e in exps])
    return sp.ImmutableMatrix(rows)


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
        Step(lhs=entry((X * WQ) * (X * WK).T, i, j), rhs=entry(X * WQ * WK.T * X.T, i, j),
             why="through the projections Q = XW_Q, K = XW_K: S = X W_Q W_Kᵀ Xᵀ, a bilinear form in the embeddings"),
        Step(lhs=entry((X * W * W.T * X.T).T, i, j), rhs=entry(X * W * W.T * X.T, i, j),
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
    a, o = sp.IndexedBase("a"), sp.IndexedBase("o")
    A, Vm = sp.MatrixSymbol("A", n, m), sp.MatrixSymbol("V", m, d_v)
    low = sp.Symbol("v_min", real=True)
    g = sp.IndexedBase("g", nonnegative=True)
    const = sp.Symbol("s_0", real=True)
    score = Named("s_ij", r"s_{ij}")
    Q2, K3, V3 = sp.MatrixSymbol("Q", 2, 2), sp.MatrixSymbol("K", 3, 2), sp.MatrixSymbol("V", 3, 2)
    K2, V2 = sp.MatrixSymbol("K", 2, 2), sp.MatrixSymbol("V", 2, 1)
    by_definition = sp.ImmutableMatrix(2, 2, lambda r, col: _entry_formula(Q2, K3, V3, r, col))
    steps = (
        define(score, scaled_score(Qi, Ki, j), "scaled score: q_i·k_j divided by √d_k (see softmax-scaling for why)"),
        define(a[i, j], score_softmax(Qi, Ki), "attention weight: softmax along row i, over the m keys"),
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
        Step(lhs=attention_matrix(Q2, K3, V3), rhs=by_definition,
             why="the matrix form softmax(QKᵀ/√d_k)V, written out for 2 queries, 3 keys, d_k = d_v = 2 (symbolic "
                 "entries), is exactly the definition above, entry by entry", check=prove("doit", "cancel")),
        Step(lhs=sdpa_forms(2, 2, 2, 1)["output"][1], rhs=attention_matrix(Q2, K2, V2),
             why="the stable form code evaluates (row maximum subtracted first) gives the same matrix "
                 "(2 queries, 2 keys, d_k = 2, d_v = 1)", check=prove("expand", "cancel")),
    )
    Qe, Ke, Ve = example_qkv()
    b = TOKENS.index("bank")
    scaled = Qe.row(b) * Ke.T / sp.sqrt(Qe.cols)
    names = [Named(f"a_{w}", rf"a_{{\mathrm{{{w}}}}}") for w in TOKENS]
    total = sum(sp.exp(x) for x in scaled)
    weights = [sp.exp(x) / total for x in scaled]
    mixed = sum((w * Ve.row(t) for t, w in enumerate(weights)), sp.zeros(1, Ve.cols))
    shapes = {"Q": Qe, "K": Ke, "V": Ve}
    full = with_values(sdpa_forms(3, 3, 4, 2)["output"][1],
                       {sp.MatrixSymbol(name, *M.shape): M for name, M in shapes.items()})
    example = (
        Step(lhs=sp.MatMul(Qe.row(b), Ke.T) / 2, rhs=scaled,
             why=f"bank's scaled scores q_bank·k_j/√4 against {', '.join(TOKENS)}: {', '.join(map(str, scaled))}"),
        *(define(nm, w, f"weight on '{tok}' ≈ {sp.N(w, 4)}") for nm, w, tok in zip(names, weights, TOKENS)),
        Step(lhs=sp.Add(*names, evaluate=False), rhs=sp.Integer(1), why="the three weights sum to 1",
             check=prove("cancel")),
        Step(lhs=sp.Add(*(sp.MatMul(nm, Ve.row(t)) for t, nm in enumerate(names)), evaluate=False), rhs=mixed,
             why=f"bank's new vector: {sp.N(weights[1], 3)} of river's value {tuple(Ve.row(1))}, "
                 f"{sp.N(weights[2], 3)} of its own {tuple(Ve.row(2))}, {sp.N(weights[0], 3)} of the's "
                 f"{tuple(Ve.row(0))} ≈ {tuple(sp.N(x, 4) for x in mixed)}", check=prove("doit", "cancel")),
        Step(lhs=full.row(b), rhs=mixed, why="the same row of softmax(QKᵀ/√d_k)V computed for all three words at once",
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
                 Symbol(score, "scaled score q_i·k_j/√d_k (entry of an n × m table)"),
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
        result=Step(lhs=o[i, c], rhs=sp.Sum(score_softmax(Qi, Ki) * Vi[j, c], (j, 0, m - 1)),
                    why="Attention(Q, K, V) = softmax(QKᵀ/√d_k) V, row i and feature c",
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
    S3 = sp.MatrixSymbol("S", 3, 3)
    A, Vn = sp.MatrixSymbol("A", n, n), sp.MatrixSymbol("V", n, d_v)
    X3 = sp.MatrixSymbol("X", 3, 2)
    WQ2, WK2, WV2 = (sp.MatrixSymbol(name, 2, 2) for name in ("W_Q", "W_K", "W_V"))
    Pc = CYCLE
    plain = self_attention(X3, WQ2, WK2, WV2)                   # (3, 2), symbolic entries
    permuted = self_attention(Pc * X3, WQ2, WK2, WV2)
    steps = (
        Step(lhs=entry((P * X) * W, i, j), rhs=entry(P * (X * W), i, j),
             why="projections act on each row separately: (PX)W = P(XW), so Q, K and V are reordered the same way"),
        Step(lhs=entry((P * Q) * (P * K).T, i, j), rhs=entry(P * (Q * K.T) * P.T, i, j),
             why="(PQ)(PK)ᵀ = P QKᵀ Pᵀ: the score table has its rows and its columns reordered"),
        Step(lhs=sp.MatMul(Pc.T, Pc), rhs=sp.Identity(3),
             why=f"a permutation matrix (here π = {tuple(Pc.T * sp.Matrix([0, 1, 2]))}) is orthogonal: PᵀP = I"),
        Step(lhs=row_softmax(Pc * S3.as_explicit() * Pc.T), rhs=Pc * row_softmax(S3.as_explicit()) * Pc.T,
             why="softmax(PSPᵀ) = P softmax(S) Pᵀ (symbolic S): each row keeps the same entries, only reordered, "
                 "and a sum does not depend on the order of its terms"),
        Step(lhs=entry((P * A * P.T) * (P * Vn), i, c), rhs=entry(P * A * (P.T * P) * Vn, i, c),
             why="the reordered weights P A Pᵀ meet the reordered values PV: P A (PᵀP) V, and PᵀP = I leaves "
                 "P·softmax(S)·V"),
        Step(lhs=permuted, rhs=Pc * plain,
             why="the whole layer, symbolic X (3 × 2) and W_Q, W_K, W_V (2 × 2): Attn(PX) = P·Attn(X)",
             check=prove("expand")),
        Step(lhs=self_attention(REVERSE * X3, WQ2, WK2, WV2), rhs=REVERSE * plain,
             why="and for a swap of the first and last tokens, the same", check=prove("expand")),
    )
    Xe, order = X_EXAMPLE, "bank river the"
    out = self_attention(Xe, WQ_EXAMPLE, WK_EXAMPLE, WV_EXAMPLE)
    out_rev = self_attention(REVERSE * Xe, WQ_EXAMPLE, WK_EXAMPLE, WV_EXAMPLE)
    pos = sp.ImmutableMatrix([[0, 1], [1, 0], [1, 1]]) / 2                 # (3 positions, d_model=2)
    with_pos = self_attention(Xe + pos, WQ_EXAMPLE, WK_EXAMPLE, WV_EXAMPLE)
    with_pos_rev = self_attention(REVERSE * Xe + pos, WQ_EXAMPLE, WK_EXAMPLE, WV_EXAMPLE)
    b = TOKENS.index("bank")
    gap = with_pos.row(b) - with_pos_rev.row(0)
    example = (
        Step(lhs=out_rev.row(0), rhs=out.row(b),
             why=f"'bank' gets exactly the same vector in '{order}' (row 0) as in 'the river bank' (row 2)",
             check=prove("expand")),
        Step(lhs=sp.MatMul(REVERSE, out), rhs=out_rev, why="and every other word too: the output is just reordered",
             check=prove("expand")),
        Step(lhs=(gap * gap.T)[0], rel=">", rhs=0,
             why=f"with position vectors added (rows {tuple(map(tuple, pos.tolist()))}, by position, not by word) "
                 f"bank's vectors differ: squared gap ≈ {sp.N((gap * gap.T)[0], 3)}; now order matters"),
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
                 Symbol(S3, "scores (3 tokens)", "3 × 3"), Symbol(A, "softmax weights softmax(S)", "n × n"),
                 Symbol(Vn, "values XW_V", "n × d_v")),
        assumptions=("self-attention: queries, keys and values all come from the same X",
                     "no mask and no positional encoding", "P is a permutation matrix"),
        steps=steps,
        result=Step(lhs=permuted, rhs=Pc * plain,
                    why="Attn(PX) = P·Attn(X): attention is permutation-equivariant", check=prove("expand")),
        example=example,
        example_title="'the river bank' against 'bank river the'",
        notes=("The linear steps hold for every size and every P (proved entry by entry). The softmax step and the "
               "whole layer are proved for symbolic entries with 3 tokens and the permutations shown; for general "
               "n the same reasoning applies: (PSPᵀ)_ij = s_π(i)π(j), and Σ_l exp(s_π(i)π(l)) = Σ_l exp(s_π(i)l) "
               "because π is a bijection (a sum does not depend on the order of its terms).",),
    )
