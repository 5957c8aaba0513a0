r"""Where the norm sits: post-LN (the 2017 paper, BERT) and pre-LN (GPT-2, Llama) blocks.

    post-LN:  x_{l+1} = LN(x_l + F_l(x_l))            Vaswani et al. 2017, BERT, RoBERTa, DistilBERT
    pre-LN:   x_{l+1} = x_l + F_l(LN(x_l))            GPT-2, GPT-3, GPT-NeoX, Llama, Mistral (RMSNorm)

Unrolled, a pre-LN stack is x_L = x₀ + Σ_l F_l(LN(x_l)): the residual stream is the input plus every
block's output, and ∂x_L/∂x₀ = Π (1 + G_l′) contains the plain identity. In post-LN every path from the
output back to x₀ passes through a LayerNorm's Jacobian at every layer.
"""
from __future__ import annotations

import sympy as sp

from explainer.model import Derivation, Step, Symbol, define, prove
from explainer.notation import Named
from explainer.registry import derivation

LAYERS = 3  # the unrolled pre-LN stack
u = sp.Symbol("u", real=True)
LN = sp.Function("LN")
G = [sp.Function(f"G_{k}") for k in range(LAYERS)]
F = [sp.Function(f"F_{k}") for k in range(LAYERS)]

#: Which published models use which order (and where to see it in Hugging Face transformers).
MODELS = {
    "post-LN": (("Transformer (Vaswani et al. 2017)", "LayerNorm(x + Sublayer(x)), section 5.4 of the paper"),
                ("BERT, RoBERTa", "transformers BertLayer: BertSelfOutput/BertOutput apply LayerNorm(h + input)"),
                ("DistilBERT", "transformers TransformerBlock: sa_layer_norm(sa_output + x)")),
    "pre-LN": (("GPT-2, GPT-3", "transformers GPT2Block: x + attn(ln_1(x)), then + mlp(ln_2(·)); final ln_f"),
               ("GPT-NeoX, Pythia", "GPTNeoXLayer: input_layernorm before attention"),
               ("Llama, Mistral", "LlamaDecoderLayer: input_layernorm (RMSNorm) before attention, "
                                  "post_attention_layernorm before the MLP; final norm")),
}


def _slope(f, at):
    """f′ evaluated at ``at``: d f(u)/du at u = at."""
    return sp.Subs(sp.Derivative(f(u), u), u, at)


@derivation("pre-vs-post-layernorm", "Pre-LN vs post-LN: where the norm sits in a block", "modern-llms")
def pre_vs_post_layernorm() -> Derivation:
    x = [Named(f"x_{k}", f"x_{k}", real=True) for k in range(LAYERS + 1)]
    y = [Named(f"y_{k}", f"y_{k}", real=True) for k in range(3)]
    pre = [define(x[k + 1], x[k] + G[k](x[k]),
                  f"pre-LN block {k + 1}: G_{k}(x) = F_{k}(LN(x)) — the sublayer F (attention or MLP) reads a "
                  "normalised copy; its output is added to the stream, which is never normalised itself")
           for k in range(LAYERS)]
    unrolled = sp.Add(x[0], *(G[k](x[k]) for k in range(LAYERS)), evaluate=False)
    pre_jacobian = sp.Mul(1 + _slope(G[1], x[1]), 1 + sp.Derivative(G[0](x[0]), x[0]), evaluate=False)
    post = [define(y[k + 1], LN(y[k] + F[k](y[k])),
                   f"post-LN block {k + 1}: add the sublayer's output, then normalise the sum (the stream itself)")
            for k in range(2)]
    z = [Named(f"z_{k}", f"z_{k}", real=True) for k in range(2)]
    sums = tuple((z[k], y[k] + F[k](y[k])) for k in range(2))
    post_jacobian = sp.Mul(_slope(LN, z[1]), 1 + _slope(F[1], y[1]),
                           _slope(LN, z[0]), 1 + sp.Derivative(F[0](y[0]), y[0]), evaluate=False)
    steps = (
        *pre,
        Step(lhs=x[LAYERS], rhs=unrolled, check=prove("expand"),
             why="unroll: substitute each block into the next; the stream after 3 blocks is the input plus "
                 "every block's output (any L by induction: x_{L+1} = x_L + G_L(x_L))"),
        Step(lhs=sp.Derivative(x[2], x[0]), rhs=pre_jacobian, check=prove("doit", "expand"),
             why="chain rule through two pre-LN blocks: each contributes a factor 1 + G_l′"),
        Step(rhs=1 + sp.Derivative(G[0](x[0]), x[0]) + _slope(G[1], x[1])
             + _slope(G[1], x[1]) * sp.Derivative(G[0](x[0]), x[0]), check=prove("doit", "expand"),
             why="multiply out: the first term is 1 — an identity path from the output to x₀ that no block "
                 "scales, so gradients reach every layer whatever the blocks do"),
        *post,
        Step(lhs=sp.Derivative(y[2], y[0]), rhs=post_jacobian, check=prove("doit", "expand"), where=sums,
             why="post-LN: every factor is multiplied by LN′ — each path back to y₀ passes a norm at every "
                 "layer, so no term is the plain identity (why post-LN needs learning-rate warm-up)"),
    )
    return Derivation(
        summary=("A transformer block adds a sublayer's output to a residual stream and normalises somewhere. "
                 "The 2017 paper and BERT normalise after the addition (post-LN: x_{l+1} = LN(x_l + F(x_l))); "
                 "GPT-2, GPT-3, GPT-NeoX and Llama normalise only the copy the sublayer reads (pre-LN: "
                 "x_{l+1} = x_l + F(LN(x_l))). Unrolling a pre-LN stack shows the residual stream is the input "
                 "plus the sum of every block's output, and its gradient with respect to the input contains the "
                 "identity: a signal passes from the loss to the first layer untouched. In post-LN every path "
                 "goes through a LayerNorm at every layer, which is why deep post-LN models need learning-rate "
                 "warm-up (Xiong et al. 2020), and why pre-LN models add one final norm before the head."),
        symbols=(Symbol(sp.Symbol("x_l"), "pre-LN residual stream after l blocks", "d"),
                 Symbol(sp.Symbol("y_l"), "post-LN stream after l blocks", "d"),
                 Symbol(sp.Symbol("z_l"), "post-LN sum before the norm, y_l + F_l(y_l)", "d"),
                 Symbol(LN(u), "LayerNorm (RMSNorm in Llama)", "d → d"),
                 Symbol(sp.Function("F_l")(u), "block l's sublayer: attention or MLP", "d → d"),
                 Symbol(sp.Function("G_l")(u), "pre-LN sublayer with its norm, F_l(LN(u))", "d → d"),
                 Symbol(u, "the argument of a function, for its derivative")),
        assumptions=("each block is one residual sublayer (a real block has two, attention then MLP: the same "
                     "algebra twice)",
                     "the chain-rule steps are written for a 1-dimensional stream, where Jacobians are numbers; "
                     "for d > 1 they are d × d matrices multiplied in the same order",
                     "LN and every sublayer are differentiable"),
        steps=steps,
        result=Step(lhs=x[LAYERS], rhs=unrolled, check=prove("expand"),
                    why="pre-LN: the residual stream is x₀ plus every block's output"),
        example=_example(),
        example_title="three linear pre-LN sublayers with slopes 1/2, −1/4, 1/10",
        notes=tuple(f"{order}: {model} — {where}" for order, rows in MODELS.items() for model, where in rows),
    )


def _example() -> tuple:
    """∂x₃/∂x₀ = Π(1 + slope) for three linear sublayers: the identity term keeps it near 1."""
    slopes = (sp.Rational(1, 2), sp.Rational(-1, 4), sp.Rational(1, 10))
    factors = [sp.Add(1, s, evaluate=False) for s in slopes]
    product = sp.Mul(*slopes)
    return (
        Step(lhs=sp.Mul(*factors, evaluate=False), rhs=sp.prod([1 + s for s in slopes]),
             why=f"the gradient reaching x₀ is {sp.prod([1 + s for s in slopes])} ≈ "
                 f"{float(sp.prod([1 + s for s in slopes])):.3f}; without the residual connections "
                 f"(x_{{l+1}} = G_l(x_l)) it would be the product of the slopes alone, {product} = "
                 f"{float(product):.4f}"),
    )
