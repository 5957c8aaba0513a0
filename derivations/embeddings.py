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
from explainer.operators import ScalarOperator
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


def _component(vector, k):
    """Component ``k`` of a word vector written with an IndexedBase: ``u → u[k]``, ``α·u → α·u[k]``."""
    return vector.xreplace({base: base[k] for base in vector.atoms(sp.IndexedBase)})


def _cosine_text(a: sp.MatrixBase, b: sp.MatrixBase) -> str:
    """``a·b/(√(a·a)·√(b·b))`` with the numbers filled in, e.g. ``6/(√8·√5)``."""
    dot, aa, bb = ((x * y.T)[0] for x, y in ((a, b), (a, a), (b, b)))
    return f"{dot}/(√{aa}·√{bb})"


class Cos(ScalarOperator):
    """``cos(a, b) = a·b / (‖a‖ ‖b‖)``, the cosine similarity of two word vectors: explicit rows, or
    vectors of width d written with an IndexedBase (``u``, ``α·u``)."""

    name, latex_name = "cos", r"\cos"

    def expand(self, a, b):
        if isinstance(a, sp.MatrixBase):
            return cosine(a, b)
        dot = sp.Sum(_component(a, i) * _component(b, i), (i, 0, d - 1))
        lengths = [sp.sqrt(sp.Sum(_component(w, i) ** 2, (i, 0, d - 1))) for w in (a, b)]
        return dot / (lengths[0] * lengths[1])


@derivation("embeddings", "Embeddings: a lookup table of word vectors", "embeddings")
def embeddings() -> Derivation:
    E = sp.MatrixSymbol("E", V, d)
    onehot = sp.MatrixSymbol("e_t", 1, V)
    E4 = sp.MatrixSymbol("E", 4, 3)
    e2 = sp.ImmutableMatrix([[1 if col == 2 else 0 for col in range(4)]])
    alpha = sp.Symbol("alpha", positive=True)
    dot = sp.Sum(u[i] * v[i], (i, 0, d - 1))
    norm_u, norm_v = sp.sqrt(sp.Sum(u[i] ** 2, (i, 0, d - 1))), sp.sqrt(sp.Sum(v[i] ** 2, (i, 0, d - 1)))
    steps = (
        Step(lhs=entry(onehot * E, 0, c), rhs=sp.Sum(onehot[0, j] * E[j, c], (j, 0, V - 1)),
             why="entry c of the product: Σ_j (e_t)_j E_jc"),
        define(e[j], sp.KroneckerDelta(j, t),
               "definition: the one-hot row of token t has a 1 in column t and 0 elsewhere, (e_t)_j = δ_jt"),
        Step(lhs=sp.Sum(e[j] * E[j, c], (j, 0, t + r)), rhs=E[t, c],
             why="t is a valid id (V − 1 = t + r, r ≥ 0), so only the term j = t survives: row t of E, a lookup"),
        Step(lhs=sp.MatMul(e2, E4.as_explicit()), rhs=E4.as_explicit().row(2),
             why="for V = 4 words and d = 3 (symbolic entries): the one-hot row of token 2 picks out row 2"),
        Step(lhs=Cos(u, v), rhs=dot / (norm_u * norm_v), check=prove("doit"),
             why="cosine similarity of two word vectors u, v (non-zero, width d): u·v / (‖u‖ ‖v‖)"),
        Step(lhs=Cos(alpha * u, v), rhs=Cos(u, v), check=prove("doit", "sums", "cancel"),
             why="scaling u by α > 0 leaves the cosine unchanged: it compares directions, not lengths"),
        Step(lhs=Cos(u, u), rhs=sp.Integer(1), check=prove("doit", "sums", "cancel"),
             why="a vector is perfectly similar to itself"),
        Step(lhs=sp.Abs(Cos(u, v)), rel="<=", rhs=sp.Integer(1),
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
        Step(lhs=Cos(rows["bank"], rows["river"]), rhs=c_river, check=prove("doit"),
             why=f"cos(bank, river) = {_cosine_text(rows['bank'], rows['river'])} ≈ {sp.N(c_river, 4)}"),
        Step(lhs=Cos(rows["bank"], rows["money"]), rhs=c_money, check=prove("doit"),
             why=f"cos(bank, money) = {_cosine_text(rows['bank'], rows['money'])} ≈ {sp.N(c_money, 4)}: 'bank' sits "
                 "between the river sense and the "
                 "money sense"),
        Step(lhs=Cos(rows["bank"], rows["the"]), rhs=c_the, check=prove("doit"),
             why=f"cos(bank, the) = {_cosine_text(rows['bank'], rows['the'])} = {c_the}: orthogonal, unrelated"),
        Step(lhs=Cos(rows["bank"], rows["river"]), rel=">", rhs=Cos(rows["bank"], rows["money"]), check=prove("doit"),
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
                 Symbol(u[i], "component i of a word vector u, i = 0 … d−1", "d"), Symbol(v[i], "another word vector", "d"),
                 Symbol(alpha, "a positive scale factor"), Symbol(Cos(u, v), "cosine similarity of u and v")),
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
