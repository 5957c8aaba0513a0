r"""The language-model head: from the last hidden state to a next-token distribution.

    z = h W_Eᵀ        (logits, one per vocabulary entry; W_E the tied embedding matrix)
    P(next = v) = softmax(z)_v

Logit v is the dot product of the final hidden state with token v's embedding: the model predicts
the token whose embedding points most the same way as h.
"""
from __future__ import annotations

import sympy as sp

from explainer.errors import positive_int
from explainer.model import Derivation, Step, Symbol, define, prove
from explainer.operators import Softmax
from explainer.registry import derivation

D, V = 2, 3  # sizes the steps are proved for
GPT2_VOCAB, GPT2_WIDTH = 50257, 768


def stable_softmax(logits) -> sp.ImmutableMatrix:
    """Softmax of a ``1 × n`` row in the stable form exp(zₜ − m)/Σ exp(zⱼ − m), m = max z, as
    ``softmax_forms`` builds it; ``Max`` is left unevaluated (comparing symbolic sums is slow)."""
    entries = list(logits)
    numeric = all(sp.sympify(v).is_number for v in entries)
    top = sp.Max(*entries, evaluate=numeric)
    exps = [sp.exp(v - top) for v in entries]
    total = sp.Add(*exps)
    return sp.ImmutableMatrix([[e / total for e in exps]])


@derivation("lm-head", "The language-model head and tied embeddings", "training")
def lm_head() -> Derivation:
    h, W = sp.MatrixSymbol("h", 1, D), sp.MatrixSymbol("W_E", V, D)
    z, p = sp.MatrixSymbol("z", 1, V), sp.MatrixSymbol("p", 1, V)
    He, We = h.as_explicit(), W.as_explicit()
    onehot = sp.ImmutableMatrix([[0, 1, 0]])  # token 1 of V = 3 (ids 0, 1, 2)
    steps = (
        define(z, sp.MatMul(h, W.T), "logits: the hidden state times the transposed embedding matrix"),
        Step(lhs=z, rhs=sp.ImmutableMatrix([[(He * We[v, :].T)[0] for v in range(V)]]),
             why="logit v is h · (row v of W_E): how well h aligns with token v's embedding"),
        Step(lhs=sp.MatMul(onehot, W, evaluate=False), rhs=We[1, :], check=prove("doit"),
             why="tied weights: the same W_E looks tokens up at the input (token 1's one-hot row times W_E is row 1 "
                 "of W_E)…"),
        Step(lhs=sp.MatMul(h, sp.Transpose(sp.MatMul(onehot, W, evaluate=False)), evaluate=False),
             rhs=sp.ImmutableMatrix([[z[0, 1]]]), check=prove("doit"),
             why="…and scores them at the output: h times that row, transposed, is logit 1"),
        define(p, Softmax(z), "softmax over the vocabulary"),
        Step(lhs=sp.MatMul(p, sp.OneMatrix(V, 1)), rhs=sp.ImmutableMatrix([[1]]), check=prove("doit", "together", "expand"),
             why="the probabilities of all V tokens sum to 1: a next-token distribution"),
        Step(lhs=p[0, 0] / p[0, 1], rhs=sp.exp(z[0, 0] - z[0, 1]), check=prove("doit", "cancel", "powsimp"),
             why="odds between two tokens depend only on the gap between their logits"),
        Step(lhs=sp.Mul(GPT2_VOCAB, GPT2_WIDTH, evaluate=False), rhs=sp.Integer(GPT2_VOCAB) * GPT2_WIDTH,
             why=f"tying saves a separate V × d output matrix: {GPT2_VOCAB * GPT2_WIDTH:,} parameters in GPT-2 small"),
    )
    return Derivation(
        summary=("At the top of a decoder, the hidden state h of the last position must become a prediction of "
                 "the next token. The head multiplies h by the transposed embedding matrix: logit v = h·e_v is "
                 "the dot product of h with token v's embedding, so the model favours tokens whose embedding "
                 "points the way h does. GPT-2 ties the head to the input embedding (the same matrix W_E both "
                 "looks tokens up and scores them), saving V·d parameters. Softmax over the V logits turns them "
                 "into a probability distribution over the next token."),
        symbols=(Symbol(h, "final hidden state of one position (after the last LayerNorm)", "1 × d"),
                 Symbol(W, "token embedding matrix, row v = embedding e_v of token v (v = 0 … V − 1)", "V × d"),
                 Symbol(z, "logits z_0 … z_{V−1}, one per vocabulary entry", "1 × V"),
                 Symbol(p, "next-token probabilities", "1 × V")),
        assumptions=(f"steps proved for d = {D}, V = {V} with symbolic entries", "tied embeddings, no bias (GPT-2)",
                     "row vectors: logits = h W_Eᵀ, as nn.Linear(d, V) with weight W_E computes"),
        steps=steps,
        result=Step(lhs=z, rhs=sp.ImmutableMatrix([[(He * We[v, :].T)[0] for v in range(V)]]),
                    why="logits = h W_Eᵀ: one dot product per vocabulary entry"),
        example=_example(),
        example_title="three-word vocabulary (river, bank, money), d = 2",
        closed_forms=lm_head_forms,
    )


def _example() -> tuple:
    words = ("river", "bank", "money")
    emb = sp.ImmutableMatrix([[1, 0], [1, 1], [0, 1]])  # (V, d): one row per word
    h = sp.ImmutableMatrix([[2, 1]])  # (1, d)
    logits = h * emb.T  # (1, V)
    probs = stable_softmax(logits)
    best = max(range(V), key=lambda v: probs[v])
    return (
        Step(lhs=sp.MatMul(h, emb.T), rhs=logits,
             why=f"h = {tuple(h)} against the embeddings of {', '.join(words)}: logits {tuple(logits)}"),
        Step(lhs=Softmax(logits), rhs=probs, check=prove("doit", "cancel"),
             why=f"probabilities ≈ {tuple(round(float(v), 3) for v in probs)}: '{words[best]}' is the likeliest "
                 "next word"),
        Step(lhs=sp.Add(*probs, evaluate=False), rhs=sp.Integer(1), check=prove("cancel"), why="they sum to 1"),
    )


def lm_head_forms(d: int, V: int) -> dict[str, tuple]:
    """Closed forms of the head for width ``d`` and vocabulary ``V``.

    * ``"logits"``: ``((h, W_E), h·W_Eᵀ)`` with ``h = MatrixSymbol("h", 1, d)`` and
      ``W_E = MatrixSymbol("W_E", V, d)`` (the embedding / ``nn.Linear(d, V, bias=False).weight``), a ``1 × V`` row.
    * ``"probabilities"``: ``((h, W_E), softmax of the logits)`` in the stable form, ``1 × V``.
    """
    positive_int(d, "d")
    positive_int(V, "V")
    h, W = sp.MatrixSymbol("h", 1, d), sp.MatrixSymbol("W_E", V, d)
    logits = sp.ImmutableMatrix(h.as_explicit() * W.as_explicit().T)  # (1, V)
    return {"logits": ((h, W), logits), "probabilities": ((h, W), stable_softmax(logits))}
