r"""Distillation (BERT → DistilBERT): a student learns the teacher's softened probabilities.

    pᵢ(T) = softmax(z/T)ᵢ (student),  qᵢ(T) = softmax(v/T)ᵢ (teacher)
    L_soft = −Σᵢ qᵢ(T) log pᵢ(T),   ∂L_soft/∂zᵢ = (pᵢ(T) − qᵢ(T)) / T
    T² ∂L_soft/∂zᵢ → ((zᵢ − z̄) − (vᵢ − v̄)) / K  as T → ∞     (Hinton, Vinyals & Dean 2015)

So the soft-target loss is multiplied by T² to keep its gradients the same size whatever T is.
DistilBERT (Sanh et al. 2019) keeps every other layer of BERT-base (6 of 12) and drops the token-type
embeddings and the pooler; its parameter count follows from BERT's by component (:data:`BERT_PARTS`,
:data:`DISTILBERT_PARTS`, which ``explainer size`` evaluates).
"""
from __future__ import annotations

import sympy as sp

from explainer.model import Derivation, Step, Symbol, define, prove
from explainer.notation import Named
from explainer.registry import derivation

K = 3  # classes in the gradient proof
_size = {"integer": True, "positive": True}
L = Named("L", "L", **_size)
d = Named("d", "d", **_size)
V = Named("V", "V", **_size)
P = Named("P", "P", **_size)          # position embeddings (max_position_embeddings)
d_ff = Named("d_ff", r"d_{\text{ff}}", **_size)
TOKEN_TYPES = 2                        # BERT's type_vocab_size: segment A and B

BERT_ATTENTION = 4 * d**2 + 4 * d                 # W_Q, W_K, W_V, W_O with biases
BERT_MLP = 2 * d * d_ff + d_ff + d                # intermediate and output dense layers with biases
BERT_LAYER_NORMS = 2 * (2 * d)                    # after attention and after the MLP (γ, β)
BERT_LAYER = BERT_ATTENTION + BERT_MLP + BERT_LAYER_NORMS
#: transformers' BertModel by component: embeddings (+ LayerNorm), L post-LN layers, pooler (d × d + bias).
BERT_PARTS = {
    "embeddings": V * d,
    "positions": P * d,
    "token types": TOKEN_TYPES * d,
    "attention": L * BERT_ATTENTION,
    "mlp": L * BERT_MLP,
    "norms": L * BERT_LAYER_NORMS + 2 * d,
    "pooler": d**2 + d,
}
#: transformers' DistilBertModel: no token-type embeddings, no pooler; the same layers.
DISTILBERT_PARTS = {**BERT_PARTS, "token types": sp.Integer(0), "pooler": sp.Integer(0)}
BERT_BASE = {L: 12, d: 768, V: 30522, P: 512, d_ff: 3072}  # Devlin et al. 2019; bert-base-uncased config


def softmax_at(logits, i, T):
    """exp(z_i/T) / Σ_j exp(z_j/T)."""
    return sp.exp(logits[i] / T) / sp.Add(*(sp.exp(z / T) for z in logits))


@derivation("distillation", "Distillation: soft targets, the T² factor, and DistilBERT's size", "training")
def distillation() -> Derivation:
    T = sp.Symbol("T", positive=True)
    z = sp.symbols(f"z_0:{K}", real=True)
    v = sp.symbols(f"v_0:{K}", real=True)
    p = [Named(f"p_{i}", f"p_{i}", positive=True) for i in range(K)]
    q = [Named(f"q_{i}", f"q_{i}", positive=True) for i in range(K)]
    loss = Named("L_soft", r"L_{\text{soft}}", real=True)
    P_bert, P_distil = Named("P_BERT", r"P_{\text{BERT}}"), Named("P_DistilBERT", r"P_{\text{DistilBERT}}")
    mean = lambda xs: sp.Add(*xs) / K  # noqa: E731
    grad = sp.Derivative(loss, z[0])
    z_bar, v_bar = Named("z̄", r"\bar z", real=True), Named("v̄", r"\bar v", real=True)
    steps = (
        *(define(p[i], softmax_at(z, i, T), f"student probability of class {i} at temperature T")
          for i in range(K)),
        *(define(q[i], softmax_at(v, i, T), f"teacher probability of class {i}, same T") for i in range(K)),
        define(loss, -sp.Add(*(q[i] * sp.log(p[i]) for i in range(K))),
               "soft-target loss: cross-entropy of the student against the teacher's softened distribution "
               "(KL(q‖p) plus the teacher's entropy, which does not depend on z)"),
        Step(lhs=grad, rhs=(p[0] - q[0]) / T, check=prove("doit", "expand_log", "expand", "cancel", "simplify"),
             why="differentiate: ∂log pⱼ/∂z₀ = (δ₀ⱼ − p₀)/T and Σⱼ qⱼ = 1"),
        Step(lhs=sp.Limit(T**2 * grad, T, sp.oo),
             rhs=sp.Mul(sp.Rational(1, K), (z[0] - z_bar) - (v[0] - v_bar), evaluate=False),
             where=((z_bar, mean(z)), (v_bar, mean(v))), check=prove("doit", "expand", "cancel"),
             why="for large T, pᵢ ≈ (1 + zᵢ/T)/K, so the gradient shrinks like 1/T²: T² times it tends to the "
                 "difference of centred logits over K — multiply L_soft by T² to keep its gradients O(1)"),
        define(P_bert, sp.Add(*BERT_PARTS.values()),
               "BERT (transformers' BertModel): word, position and token-type embeddings, embedding LayerNorm, "
               "L post-LN layers, pooler"),
        define(P_distil, sp.Add(*DISTILBERT_PARTS.values()).xreplace({L: L / 2}),
               "DistilBERT: every other layer (L/2, initialised from the teacher's), no token-type embeddings, "
               "no pooler"),
        Step(lhs=P_bert - P_distil, rhs=(L / 2) * BERT_LAYER + TOKEN_TYPES * d + d**2 + d, check=prove("expand"),
             why="what was removed: half the layers, the token-type table and the pooler"),
    )
    return Derivation(
        summary=("A large teacher's predictions carry more than the right answer: which wrong classes it "
                 "finds plausible. Distillation (Hinton et al. 2015) trains a small student to match the "
                 "teacher's probabilities softened by a temperature T, pᵢ = softmax(z/T)ᵢ. The gradient of that "
                 "soft-target loss with respect to the student's logits is (p_student − p_teacher)/T, and for "
                 "large T it shrinks like 1/T²; multiplying the loss by T² keeps its gradients the same size "
                 "whatever T is chosen, so it can be mixed with the ordinary hard-label loss. DistilBERT "
                 "(Sanh et al. 2019) is BERT-base distilled this way into 6 of its 12 layers, without token-type "
                 "embeddings and pooler: 66 million parameters instead of 110 million."),
        symbols=(Symbol(T, "temperature (T = 1: ordinary softmax)"),
                 Symbol(sp.Symbol("z_i"), "student logit of class i = 0, …, K − 1"), Symbol(sp.Symbol("v_i"), "teacher logit"),
                 Symbol(sp.Symbol("p_i"), "student probability at temperature T"),
                 Symbol(sp.Symbol("q_i"), "teacher probability at temperature T"),
                 Symbol(loss, "soft-target cross-entropy"),
                 Symbol(z_bar, "mean student logit"), Symbol(v_bar, "mean teacher logit"),
                 Symbol(L, "BERT layers"), Symbol(d, "hidden width"), Symbol(V, "vocabulary"),
                 Symbol(P, "position embeddings (max_position_embeddings)"), Symbol(d_ff, "MLP width"),
                 Symbol(P_bert, "parameters of BertModel"), Symbol(P_distil, "parameters of DistilBertModel")),
        assumptions=(f"the gradient is proved for K = {K} classes (any K the same way)",
                     "counted as transformers' BertModel (with pooler) and DistilBertModel; no MLM head",
                     f"BERT has {TOKEN_TYPES} token types (segments A and B)"),
        steps=steps,
        result=Step(lhs=grad, rhs=(p[0] - q[0]) / T, check=prove("doit", "expand_log", "expand", "cancel", "simplify"),
                    why="the soft-target gradient: the difference of the softened distributions, divided by T"),
        example=_example(P_bert, P_distil),
        example_title="BERT-base (L = 12, d = 768, V = 30522, P = 512, d_ff = 3072) and DistilBERT",
    )


def _example(P_bert, P_distil) -> tuple:
    """The two counts at BERT-base's sizes; every number from the component formulas."""
    b = BERT_BASE
    bert = int(sp.Add(*BERT_PARTS.values()).xreplace(b))
    distil = int(sp.Add(*DISTILBERT_PARTS.values()).xreplace({**b, L: b[L] // 2}))
    layer = int(BERT_LAYER.xreplace(b))
    return (
        Step(lhs=sp.Subs(P_bert, tuple(b), tuple(b.values())), rhs=bert, check=prove("doit"),
             why=f"BERT-base: {bert:,} parameters (one layer: {layer:,})"),
        Step(lhs=sp.Subs(P_distil, tuple(b), tuple(b.values())), rhs=distil, check=prove("doit"),
             why=f"DistilBERT: {distil:,} — {100 * distil / bert:.1f} % of BERT-base"),
    )
