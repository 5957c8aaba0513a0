r"""Linear layers: the weighted sums every part of a transformer is built from.

    y = W x + b            (column form: W is d_out × d_in)
    y = x Wᵀ + b           (row form, torch.nn.Linear: one token per row)

Each output neuron takes a weighted sum of all inputs plus its own bias. Two linear layers in a row
are again one linear layer — which is why a transformer needs non-linearities (softmax, GELU)
between them. The query, key and value projections of attention are three such layers applied to
every token: Q = X W_Q, K = X W_K, V = X W_V.
"""
from __future__ import annotations

import sympy as sp

from explainer.derivations.attention import TOKENS, entry, WK_EXAMPLE, WQ_EXAMPLE, WV_EXAMPLE, X_EXAMPLE
from explainer.model import Derivation, Step, Symbol, define
from explainer.registry import derivation

d_in, d_out = sp.symbols("d_in d_out", integer=True, positive=True)
n, d_model, d_k, d_v = sp.symbols("n d_model d_k d_v", integer=True, positive=True)
i, j, t, c = sp.symbols("i j t c", integer=True, nonnegative=True)


@derivation("linear-layer", "Linear layers: weighted sums, stacked", "vectors")
def linear_layer() -> Derivation:
    W, x, b = sp.MatrixSymbol("W", d_out, d_in), sp.MatrixSymbol("x", d_in, 1), sp.MatrixSymbol("b", d_out, 1)
    y = sp.MatrixSymbol("y", d_out, 1)
    # concrete sizes for the matrix identities: 3 inputs -> 2 -> 2 (symbolic entries)
    W1, x3, b1 = sp.MatrixSymbol("W_1", 2, 3), sp.MatrixSymbol("x", 3, 1), sp.MatrixSymbol("b_1", 2, 1)
    W2, b2 = sp.MatrixSymbol("W_2", 2, 2), sp.MatrixSymbol("b_2", 2, 1)
    neurons = sp.ImmutableMatrix(2, 1, lambda r, _: sum(W1[r, col] * x3[col, 0] for col in range(3)) + b1[r, 0])
    X = sp.MatrixSymbol("X", n, d_model)
    WQ = sp.MatrixSymbol("W_Q", d_model, d_k)
    steps = (
        define(y, W * x + b, "definition: a linear (affine) layer, W has one row per output neuron (d_out × d_in)"),
        Step(lhs=y[i, 0], rhs=sp.Sum(W[i, j] * x[j, 0], (j, 0, d_in - 1)) + b[i, 0],
             why="output neuron i is a weighted sum of all d_in inputs (its weights: row i of W) plus its bias"),
        Step(lhs=sp.MatAdd(sp.MatMul(W1, x3), b1), rhs=neurons,
             why="written out for 3 inputs and 2 neurons (symbolic entries)"),
        Step(lhs=entry(sp.Transpose(W * x + b), 0, i), rhs=entry(x.T * W.T + b.T, 0, i),
             why="the row form code uses: transpose both sides, yᵀ = xᵀWᵀ + bᵀ (torch.nn.Linear stores W as out × in)"),
        Step(lhs=sp.MatAdd(sp.MatMul(W2, sp.MatAdd(sp.MatMul(W1, x3), b1)), b2),
             rhs=sp.MatAdd(sp.MatMul(W2, W1, x3), sp.MatMul(W2, b1), b2),
             why="two layers in a row (3 → 2 → 2, symbolic entries): distribute W₂ over the sum"),
        Step(rhs=sp.MatAdd(sp.MatMul(sp.MatMul(W2, W1), x3), sp.MatAdd(sp.MatMul(W2, b1), b2)),
             why="group: one layer with weight W₂W₁ and bias W₂b₁ + b₂ — a stack of linear layers is one linear "
                 "layer, so depth needs a non-linearity in between"),
        Step(lhs=entry(X * WQ, t, c), rhs=sp.Sum(X[t, j] * WQ[j, c], (j, 0, d_model - 1)),
             why="Q = XW_Q (n × d_model times d_model × d_k = n × d_k): row t of Q is token t's embedding through the "
                 "same layer — every token is projected independently, with shared weights"),
    )
    Qe, Ke, Ve = X_EXAMPLE * WQ_EXAMPLE, X_EXAMPLE * WK_EXAMPLE, X_EXAMPLE * WV_EXAMPLE
    bank = TOKENS.index("bank")
    xb = X_EXAMPLE.row(bank)
    W_a, b_a = sp.ImmutableMatrix([[1, 2], [0, 1]]), sp.ImmutableMatrix([[1, -1]])
    W_b, b_b = sp.ImmutableMatrix([[1, 0], [1, 1]]), sp.ImmutableMatrix([[0, sp.Rational(1, 2)]])
    example = (
        Step(lhs=sp.MatMul(xb, WQ_EXAMPLE.col(3)), rhs=sp.ImmutableMatrix([[Qe[bank, 3]]]),
             why=f"one neuron: query feature 3 of 'bank' = {' + '.join(f'({u})({w})' for u, w in zip(xb, WQ_EXAMPLE.col(3)))}"
                 f" = {Qe[bank, 3]}, a weighted sum of bank's embedding {tuple(xb)}"),
        Step(lhs=sp.MatMul(X_EXAMPLE, WQ_EXAMPLE), rhs=Qe,
             why=f"queries of {', '.join(TOKENS)}: X (3 × 2) times W_Q (2 × 4) gives Q (3 × 4)"),
        Step(lhs=sp.MatMul(X_EXAMPLE, WK_EXAMPLE), rhs=Ke, why="keys: K = XW_K, also 3 × 4"),
        Step(lhs=sp.MatMul(X_EXAMPLE, WV_EXAMPLE), rhs=Ve, why="values: V = XW_V, 3 × 2"),
        Step(lhs=sp.MatAdd(sp.MatMul(sp.MatAdd(sp.MatMul(xb, W_a.T), b_a), W_b.T), b_b),
             rhs=sp.MatAdd(sp.MatMul(xb, (W_b * W_a).T), b_a * W_b.T + b_b),
             why=f"two row-form layers on bank's embedding equal one layer with weight W_b W_a = "
                 f"{(W_b * W_a).tolist()} and bias {(b_a * W_b.T + b_b).tolist()}: both give "
                 f"{((xb * W_a.T + b_a) * W_b.T + b_b).tolist()}"),
    )
    return Derivation(
        summary=("A linear layer computes y = Wx + b: each of the d_out output neurons takes a weighted sum of the "
                 "d_in inputs (the weights are its row of W, so W is d_out × d_in) and adds its bias. Code keeps "
                 "one token per row and writes the same thing as y = xWᵀ + b (torch.nn.Linear). Two linear layers "
                 "in a row collapse into one, W₂(W₁x + b₁) + b₂ = (W₂W₁)x + (W₂b₁ + b₂), which is why "
                 "transformers put non-linearities between them. Attention's queries, keys and values are three "
                 "linear layers applied to every token: Q = XW_Q, K = XW_K, V = XW_V."),
        symbols=(Symbol(x, "input vector (column form)", "d_in × 1"), Symbol(W, "weights, one row per neuron",
                                                                          "d_out × d_in"),
                 Symbol(b, "biases, one per neuron", "d_out × 1"), Symbol(y, "outputs", "d_out × 1"),
                 Symbol(W1, "first layer's weights (3 inputs → 2)", "2 × 3"),
                 Symbol(W2, "second layer's weights (2 → 2)", "2 × 2"),
                 Symbol(b1, "first layer's biases", "2 × 1"), Symbol(b2, "second layer's biases", "2 × 1"),
                 Symbol(X, "token embeddings, one row per token", "n × d_model"),
                 Symbol(WQ, "query projection (W_K: d_model × d_k, W_V: d_model × d_v likewise)", "d_model × d_k"),
                 Symbol(i, "output index, from 0 as in code"), Symbol(j, "input index"),
                 Symbol(t, "token index"), Symbol(c, "query feature index")),
        assumptions=("real weights, biases and inputs",
                     "column form in the maths, row form (one token per row) in code"),
        steps=steps,
        result=Step(lhs=entry(sp.Transpose(W * x + b), 0, i), rhs=entry(x.T * W.T + b.T, 0, i),
                    why="y = xWᵀ + b with W of shape (out × in): what torch.nn.Linear computes for one row x"),
        example=example,
        example_title="the projections of 'the river bank'",
        notes=("Identities with symbolic sizes are proved entry by entry; the stacking identity is proved for "
               "symbolic entries at sizes 3 → 2 → 2 (it uses only distributivity and associativity of the matrix "
               "product, which hold at every size).",),
        closed_forms=linear_forms,
    )


def linear_forms(d_in: int, d_out: int) -> dict[str, tuple]:
    """torch.nn.Linear on one row: ``{"linear": ((x[1×d_in], W[d_out×d_in], b[1×d_out]), x Wᵀ + b [1×d_out])}``."""
    x, W, b = sp.MatrixSymbol("x", 1, d_in), sp.MatrixSymbol("W", d_out, d_in), sp.MatrixSymbol("b", 1, d_out)
    return {"linear": ((x, W, b), (x * W.T + b).as_explicit())}
