r"""Embeddings: a token id becomes a vector by looking up one row of a table.

    e_t E = E[t, :]                         (one-hot row times the embedding matrix)
    cos(u, v) = u·v / (‖u‖ ‖v‖)             (how similar two word vectors are)

Multiplying the one-hot row of token t by the V × d embedding matrix picks out row t: a lookup,
which is how code implements it (torch.nn.Embedding indexes, it does not multiply). Cosine
similarity compares directions, not lengths: words used in similar contexts get vectors that point
the same way.
"""
from __future__ import annotations

import sympy as sp

from explainer.derivations.attention import entry
from explainer.model import Derivation, Step, Symbol, define, numeric, prove
from explainer.notation import Named
from explainer.registry import derivation

V, d = sp.symbols("V d", integer=True, positive=True)
t, r = sp.symbols("t r", integer=True, nonnegative=True)
j, c, i = sp.symbols("j c i", integer=True, nonnegative=True)
u, v = sp.IndexedBase("u", real=True), sp.IndexedBase("v", real=True)
e = sp.IndexedBase("e_t")

VOCAB = ("the", "river", "bank", "money")
E_EXAMPLE = sp.ImmutableMatrix([[0, 0, 1], [2, 1, 0], [2, 2, 0], [0, 2, 0]])   # (V=4 words, d=3)


def cosine(a: sp.MatrixBase, b: sp.MatrixBase):
    """``a·b / (‖a‖ ‖b‖)`` for explicit rows."""
    return (a * b.T)[0] / (a.norm() * b.norm())


def cosine_unevaluated(a: sp.MatrixBase, b: sp.MatrixBase):
    """The same fraction, printed as ``a·b / (‖a‖‖b‖)`` before SymPy simplifies it."""
    lengths = sp.Mul(a.norm(), b.norm(), evaluate=False)
    return sp.Mul((a * b.T)[0], sp.Pow(lengths, -1, evaluate=False), evaluate=False)


@derivation("embeddings", "Embeddings: a lookup table of word vectors", "embeddings")
def embeddings() -> Derivation:
    E = sp.MatrixSymbol("E", V, d)
    onehot = sp.MatrixSymbol("e_t", 1, V)
    E4 = sp.MatrixSymbol("E", 4, 3)
    e2 = sp.ImmutableMatrix([[1 if col == 2 else 0 for col in range(4)]])
    alpha = sp.Symbol("alpha", positive=True)
    cos_uv = Named("cos(u,v)", r"\cos(\mathbf{u},\mathbf{v})")
    dot = sp.Sum(u[i] * v[i], (i, 1, d))
    norm_u, norm_v = sp.sqrt(sp.Sum(u[i] ** 2, (i, 1, d))), sp.sqrt(sp.Sum(v[i] ** 2, (i, 1, d)))
    steps = (
        Step(lhs=entry(onehot * E, 0, c), rhs=sp.Sum(onehot[0, j] * E[j, c], (j, 0, V - 1)),
             why="entry c of the product: Σ_j (e_t)_j E_jc"),
        define(e[j], sp.KroneckerDelta(j, t),
               "definition: the one-hot row of token t has a 1 in column t and 0 elsewhere, (e_t)_j = δ_jt"),
        Step(lhs=sp.Sum(e[j] * E[j, c], (j, 0, t + r)), rhs=E[t, c],
             why="t is a valid id (V − 1 = t + r, r ≥ 0), so only the term j = t survives: row t of E, a lookup"),
        Step(lhs=sp.MatMul(e2, E4.as_explicit()), rhs=E4.as_explicit().row(2),
             why="for V = 4 words and d = 3 (symbolic entries): the one-hot row of token 2 picks out row 2"),
        define(cos_uv, dot / (norm_u * norm_v), "cosine similarity of two word vectors u, v (non-zero, width d)"),
        Step(lhs=sp.Sum(alpha * u[i] * v[i], (i, 1, d)) / (sp.sqrt(sp.Sum(alpha ** 2 * u[i] ** 2, (i, 1, d))) * norm_v),
             rhs=cos_uv, why="scaling u by α > 0 leaves the cosine unchanged: it compares directions, not lengths",
             check=prove("sums", "cancel")),
        Step(lhs=sp.Mul(sp.Sum(u[i] * u[i], (i, 1, d)), sp.Pow(sp.Mul(norm_u, norm_u, evaluate=False), -1,
                                                                 evaluate=False), evaluate=False),
             rhs=sp.Integer(1),
             why="a vector is perfectly similar to itself", check=prove("sums", "cancel")),
        Step(lhs=sp.Abs(cos_uv), rel="<=", rhs=sp.Integer(1),
             why="Cauchy–Schwarz (dot-product derivation): |u·v| ≤ ‖u‖‖v‖, so −1 ≤ cos ≤ 1",
             check=numeric(10, d=(1, 4))),
    )
    rows = {w: E_EXAMPLE.row(k) for k, w in enumerate(VOCAB)}
    bank_id = VOCAB.index("bank")
    e_bank = sp.ImmutableMatrix([[1 if k == bank_id else 0 for k in range(len(VOCAB))]])
    c_river, c_money, c_the = (cosine(rows["bank"], rows[w]) for w in ("river", "money", "the"))
    example = (
        Step(lhs=sp.MatMul(e_bank, E_EXAMPLE), rhs=rows["bank"],
             why=f"'bank' is token {bank_id} of {VOCAB}: its one-hot row times E is row {bank_id}, {tuple(rows['bank'])}"),
        Step(lhs=cosine_unevaluated(rows["bank"], rows["river"]), rhs=c_river,
             why=f"cos(bank, river) ≈ {sp.N(c_river, 4)}"),
        Step(lhs=cosine_unevaluated(rows["bank"], rows["money"]), rhs=c_money,
             why=f"cos(bank, money) ≈ {sp.N(c_money, 4)}: 'bank' sits between the river sense and the money sense"),
        Step(lhs=cosine_unevaluated(rows["bank"], rows["the"]), rhs=c_the, why="cos(bank, the) = 0: orthogonal, unrelated"),
        Step(lhs=c_river, rel=">", rhs=c_money,
             why="this table leans to the riverside sense; attention (scaled-dot-product-attention) adjusts it to "
                 "the context"),
    )
    return Derivation(
        summary=("A transformer reads token ids, not words. The embedding matrix E has one row of d numbers per "
                 "vocabulary entry (V × d); multiplying the one-hot row of token t (a 1 in column t) by E picks out "
                 "row t, so the product is just a table lookup — which is how code does it. The rows are learned so "
                 "that related words point in similar directions; cosine similarity u·v/(‖u‖‖v‖) measures that, "
                 "ignores lengths, and lies between −1 and 1."),
        symbols=(Symbol(E, "embedding matrix: row t is token t's vector", "V × d"),
                 Symbol(onehot, "one-hot row of token t", "1 × V"), Symbol(e[j], "entry j of the one-hot row"),
                 Symbol(V, "vocabulary size"), Symbol(d, "embedding width (d_model)"),
                 Symbol(t, "a token id, 0 ≤ t < V"), Symbol(r, "how far t is below the last id: V − 1 = t + r"),
                 Symbol(u[i], "a word vector", "d"), Symbol(v[i], "another word vector", "d"),
                 Symbol(alpha, "a positive scale factor"), Symbol(cos_uv, "cosine similarity of u and v")),
        assumptions=("token ids run from 0 to V − 1", "word vectors are real and non-zero"),
        steps=steps,
        result=Step(lhs=sp.Sum(sp.KroneckerDelta(j, t) * E[j, c], (j, 0, t + r)), rhs=E[t, c],
                    why="e_t E = row t of E: an embedding layer is a lookup"),
        example=example,
        example_title=f"a 4-word vocabulary {VOCAB} with 3-D vectors",
        notes=("The lookup is proved for a symbolic vocabulary (writing V − 1 = t + r with r ≥ 0 states that t is a "
               "valid id) and for symbolic entries at V = 4, d = 3.",),
        closed_forms=embedding_forms,
    )


def embedding_forms(V: int, d: int) -> dict[str, tuple]:
    """Embedding lookup as a product: ``{"lookup": ((onehot[1×V], E[V×d]), onehot E [1×d])}``."""
    onehot, E = sp.MatrixSymbol("onehot", 1, V), sp.MatrixSymbol("E", V, d)
    return {"lookup": ((onehot, E), (onehot * E).as_explicit())}
