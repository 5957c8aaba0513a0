r"""Cross-entropy: the loss of next-token prediction, and its famously simple gradient.

    CE(z, y) = −log softmax(z)_y = logsumexp(z) − z_y
    ∂CE/∂z   = softmax(z) − onehot(y)

The loss is the surprise of the correct token; its gradient is "predicted minus actual", a vector
that sums to 0. A batch mean divides it by N; exp(CE) is the perplexity; a model that predicts
uniformly over V tokens pays ln V.
"""
from __future__ import annotations

import sympy as sp

from explainer.errors import positive_int
from explainer.model import Derivation, Step, Symbol, define, prove
from explainer.notation import Named
from explainer.operators import Softmax
from explainer.registry import derivation
from explainer.derivations.lm_head import stable_softmax
from explainer.derivations.softmax import Ones

z = sp.IndexedBase("z", real=True)
j, y = sp.symbols("j y", integer=True, nonnegative=True)
V = sp.Symbol("V", integer=True, positive=True)
GPT2_VOCAB = 50257
CONCRETE_SIZES = (2, 3, 4)  # vocabulary sizes the gradient is also proved for, entry by entry


LSE = sp.Symbol("L", real=True)  # log Σⱼ exp(zⱼ), named in the entry-by-entry gradient steps


def _gradient_step(size: int) -> Step:
    """``G = 𝟙·softmax(z) − I`` for explicit scores z_0 … z_{size-1}: row y of ``G`` is ∂CE(z, y)/∂z."""
    zs = [z[a] for a in range(size)]
    G = sp.MatrixSymbol("G", size, size)
    grads = sp.ImmutableMatrix(size, size, lambda a, b: sp.Derivative(LSE - zs[a], zs[b]))
    row = sp.ImmutableMatrix([zs])
    predicted = sp.MatMul(Ones(size, 1), Softmax(row))
    return Step(lhs=G, rhs=sp.MatAdd(predicted, -sp.Identity(size)), check=prove("doit", "cancel"),
                where=((LSE, sp.log(sp.Add(*(sp.exp(v) for v in zs)))), (G, grads)),
                why=f"checked entry by entry for V = {size}: row y of G is ∂CE/∂z for target y, "
                    "softmax(z) − onehot(y)")


@derivation("cross-entropy", "Cross-entropy loss and its gradient", "training")
def cross_entropy() -> Derivation:
    total = sp.Sum(sp.exp(z[j]), (j, 0, V - 1))
    t, rest = sp.Symbol("t", real=True), Named("R", r"R", positive=True)
    ce = Named("CE", r"\mathrm{CE}", real=True)
    p_y = Named("p_y", r"p_y", positive=True)
    c = sp.Symbol("c", real=True)
    steps = (
        define(p_y, sp.exp(z[y]) / total, "the probability softmax gives the correct token y"),
        define(ce, -sp.log(p_y), "the loss: minus the log-probability the model gives the correct token y"),
        Step(lhs=ce, rhs=sp.log(total) - z[y], check=prove("expand_log", "expand"),
             why="log of a quotient, and log exp(z_y) = z_y: CE = logsumexp(z) − z_y"),
        Step(lhs=sp.Derivative(sp.log(sp.exp(t) + rest) - t, t), rhs=sp.exp(t) / (sp.exp(t) + rest) - 1,
             check=prove("doit", "cancel"),
             why="any V: write Σⱼ exp(zⱼ) = exp(z_k) + R with R (the other V − 1 terms) free of z_k = t; "
                 "for k = y the derivative is p_k − 1…"),
        Step(lhs=sp.Derivative(sp.log(sp.exp(t) + rest) - z[y], t), rhs=sp.exp(t) / (sp.exp(t) + rest),
             check=prove("doit", "cancel"), why="…and for k ≠ y it is p_k − 0: ∂CE/∂z = softmax(z) − onehot(y)"),
        *(_gradient_step(n) for n in CONCRETE_SIZES),
        Step(lhs=sp.Sum(sp.exp(z[j]) / total, (j, 0, V - 1)) - 1, rhs=sp.Integer(0), check=prove("sums", "doit"),
             why="the gradient's entries sum to 0: probability taken from wrong tokens is given to the right one"),
        Step(lhs=sp.Derivative((sp.Function("CE_0")(t) + sp.Function("CE_1")(c)) / 2, t),
             rhs=sp.Derivative(sp.Function("CE_0")(t), t) / 2, check=prove("doit"),
             why="a batch mean (1/N) Σₙ CEₙ over examples n = 0, …, N − 1: each example's gradient is divided by N (here N = 2)"),
        Step(lhs=sp.exp(ce), rhs=1 / p_y, check=prove("doit", "expand"),
             why="perplexity exp(CE) = 1/p_y: the model is as unsure as a uniform choice among that many tokens"),
        Step(lhs=sp.log(sp.Sum(sp.exp(c), (j, 0, V - 1))) - c, rhs=sp.log(V), check=prove("doit", "expand_log", "expand"),
             why="uniform predictions (all logits equal to c): the loss is ln V, the perplexity V"),
    )
    return Derivation(
        summary=("A language model is trained to give the actual next token y a high probability. The loss is "
                 "the cross-entropy −log p_y, which equals logsumexp(z) − z_y (how code computes it, stably). "
                 "Its gradient with respect to the logits is simply softmax(z) − onehot(y): predicted minus "
                 "actual, every entry between −1 and 1, summing to 0. Averaging over a batch of N positions "
                 "divides every gradient by N. exp(CE) is the perplexity, the effective number of tokens the "
                 "model is choosing between; a model that knows nothing predicts uniformly and pays ln V, about "
                 "10.82 for GPT-2's 50257 tokens — the loss at the very start of training."),
        symbols=(Symbol(z[j], "logit of vocabulary entry (token id) j = 0, …, V − 1", "V"),
                 Symbol(y, "id of the correct next token, 0 ≤ y ≤ V − 1"),
                 Symbol(V, "vocabulary size"), Symbol(p_y, "probability of the correct token"),
                 Symbol(ce, "cross-entropy loss of one position"),
                 Symbol(LSE, "log Σⱼ exp(zⱼ) for the concrete sizes"),
                 Symbol(sp.MatrixSymbol("G", V, V), "row y: the gradient ∂CE/∂z for target y", "V × V"),
                 Symbol(t, "the logit z_k being differentiated"),
                 Symbol(rest, "sum of the other V − 1 exponentials, independent of z_k"),
                 Symbol(c, "a common value of all logits (uniform prediction)")),
        assumptions=("logits are real", "natural logarithms (losses in nats)",
                     "the gradient is proved for any V by splitting off the differentiated term, and entry by "
                     f"entry for V = {', '.join(map(str, CONCRETE_SIZES))}",
                     "F.cross_entropy with mean reduction averages over the N positions of a batch"),
        steps=steps,
        result=Step(lhs=ce, rhs=sp.log(total) - z[y], check=prove("expand_log", "expand"),
                    why="CE(z, y) = logsumexp(z) − z_y, with gradient softmax(z) − onehot(y)"),
        example=_example(),
        example_title="three logits (2, 1, 0), correct token 0; GPT-2 at initialisation",
        closed_forms=cross_entropy_forms,
    )


def _example() -> tuple:
    logits = sp.ImmutableMatrix([[2, 1, 0]])
    total = sum(sp.exp(v) for v in logits)
    loss = sp.log(total) - logits[0]
    onehot, e0 = sp.ImmutableMatrix([[1, 0, 0]]), sp.MatrixSymbol("e_0", 1, 3)  # onehot(y) for y = 0
    probs = sp.ImmutableMatrix([[sp.exp(v) / total for v in logits]])
    uniform = sp.log(sp.Integer(GPT2_VOCAB))
    lo = sp.floor(uniform * 100) / 100
    return (
        Step(lhs=-sp.log(sp.exp(logits[0]) / total), rhs=loss, check=prove("expand_log", "expand"),
             why=f"correct token has the largest logit: loss ≈ {float(loss):.4f} nats, perplexity ≈ "
                 f"{float(sp.exp(loss)):.3f}"),
        Step(lhs=sp.MatAdd(Softmax(logits), -e0), rhs=probs - onehot, check=prove("doit", "cancel"), where=((e0, onehot),),
             why=f"the gradient at z = (2, 1, 0), y = 0: ∂CE/∂z ≈ {tuple(round(float(v), 3) for v in probs - onehot)}, "
                 "predicted minus actual"),
        Step(lhs=uniform, rel=">", rhs=lo, why=f"uniform over GPT-2's {GPT2_VOCAB} tokens: ln {GPT2_VOCAB} ≈ "
             f"{float(uniform):.4f}, the loss of an untrained model"),
        Step(lhs=uniform, rel="<", rhs=lo + sp.Rational(1, 100), why=f"so it lies between {lo} and {lo + sp.Rational(1, 100)}"),
    )


def cross_entropy_forms(V: int) -> dict[str, tuple]:
    """Closed forms for a vocabulary of ``V`` entries.

    * ``"loss"``: ``((z, y), CE)`` with ``z = MatrixSymbol("z", 1, V)`` the logits and
      ``y = MatrixSymbol("y", 1, V)`` a one-hot row of the target; CE = m + log Σⱼ exp(zⱼ − m) − Σⱼ yⱼzⱼ,
      m = maxⱼ zⱼ (stable logsumexp), a scalar — ``F.cross_entropy(z, target)`` for one row.
    * ``"grad"``: ``((z, y), softmax(z) − y)``, a ``1 × V`` row — autograd's ``z.grad`` for one row (divide by
      N for a batch mean).
    """
    positive_int(V, "V")
    zs, ys = sp.MatrixSymbol("z", 1, V), sp.MatrixSymbol("y", 1, V)
    entries = list(zs.as_explicit())
    top = sp.Max(*entries, evaluate=False)
    loss = top + sp.log(sp.Add(*(sp.exp(v - top) for v in entries))) - sp.Add(*(ys[0, a] * entries[a] for a in range(V)))
    return {"loss": ((zs, ys), loss), "grad": ((zs, ys), stable_softmax(entries) - ys.as_explicit())}
