r"""SwiGLU: the gated MLP of Llama, Mistral and PaLM.

    FFN(x) = W₂ (SiLU(W₁x) ⊙ W₃x),   SiLU(z) = z·σ(z) = z / (1 + e^{−z})

Three matrices instead of two: W₁x decides how much of each hidden unit lets W₃x through. To spend the
parameters of the 2017 MLP (two matrices d × 4d), the hidden width shrinks to d_ff ≈ (8/3)d, which
Llama then rounds up to a multiple of a hardware-friendly number.
"""
from __future__ import annotations

import sympy as sp

from explainer.errors import positive_int
from explainer.model import Derivation, Step, Symbol, prove
from explainer.notation import Named
from explainer.operators import MatrixOperator, ScalarOperator
from explainer.registry import derivation

z = sp.Symbol("z", real=True)
d, d_ff = sp.symbols("d d_ff", integer=True, positive=True)
EX_D, EX_FF = 2, 3  # sizes of the written-out FFN


class Sigmoid(ScalarOperator):
    """``σ(z) = 1 / (1 + e^{−z})``."""

    name, latex_name = "σ", r"\sigma"

    def expand(self, t):
        return 1 / (1 + sp.exp(-t))


class SiLU(ScalarOperator):
    """``SiLU(z) = z·σ(z)`` (also called Swish with β = 1)."""

    name, latex_name = "SiLU", r"\operatorname{SiLU}"

    def expand(self, t):
        return t / (1 + sp.exp(-t))


def swiglu_column(x, W1, W2, W3) -> sp.ImmutableMatrix:
    """``W₂ (SiLU(W₁x) ⊙ W₃x)`` for an explicit column ``x`` (d × 1) and explicit matrices
    ``W₁, W₃`` (d_ff × d), ``W₂`` (d × d_ff), with SiLU written out."""
    gate, up = W1 * x, W3 * x
    hidden = sp.ImmutableMatrix([[g / (1 + sp.exp(-g)) * u] for g, u in zip(gate, up)])
    return sp.ImmutableMatrix(W2 * hidden)


class SwiGLU(MatrixOperator):
    """``FFN(x, W₁, W₂, W₃) = W₂ (SiLU(W₁x) ⊙ W₃x)``; shape that of ``x``."""

    name, latex_name = "FFN", r"\operatorname{FFN}"

    def expand(self, x, W1, W2, W3):
        return swiglu_column(x, W1, W2, W3)


def llama_hidden(dim: int, multiple_of: int, multiplier: float | None = None) -> int:
    """Llama's hidden width (Meta's ``llama/model.py``, ``FeedForward``): ``int(2·4d/3)``, times
    ``ffn_dim_multiplier`` if given (then ``int`` again), rounded up to a multiple of ``multiple_of``."""
    hidden = int(2 * (4 * dim) / 3)
    if multiplier is not None:
        hidden = int(multiplier * hidden)
    return multiple_of * ((hidden + multiple_of - 1) // multiple_of)


@derivation("swiglu", "SwiGLU: the gated feed-forward layer of Llama", "modern-llms")
def swiglu() -> Derivation:
    x = sp.MatrixSymbol("x", EX_D, 1)
    W1, W3 = sp.MatrixSymbol("W_1", EX_FF, EX_D), sp.MatrixSymbol("W_3", EX_FF, EX_D)
    W2 = sp.MatrixSymbol("W_2", EX_D, EX_FF)
    a, u = sp.MatrixSymbol("a", EX_FF, 1), sp.MatrixSymbol("u", EX_FF, 1)
    p_glu, p_mlp = Named("P_SwiGLU", r"P_{\mathrm{SwiGLU}}"), Named("P_MLP", r"P_{\mathrm{MLP}}")
    f_glu, f_mlp = Named("F_SwiGLU", r"F_{\mathrm{SwiGLU}}"), Named("F_MLP", r"F_{\mathrm{MLP}}")
    gated = sp.ImmutableMatrix([[SiLU(a[t, 0]) * u[t, 0]] for t in range(EX_FF)])
    steps = (
        Step(lhs=SiLU(z), rhs=z * Sigmoid(z), why="SiLU multiplies its input by the sigmoid of itself"),
        Step(lhs=sp.Derivative(SiLU(z), z), rhs=Sigmoid(z) * (1 + z * (1 - Sigmoid(z))),
             check=prove("doit", "cancel"),
             why="its derivative, by the product rule with σ' = σ(1 − σ); it is 0 where 1 + z(1 − σ(z)) = 0, "
                 "near z = −1.28: SiLU dips below 0 there and is not monotone (example 1)"),
        Step(lhs=Sigmoid(0) * (1 + 0 * (1 - Sigmoid(0))), rhs=sp.Rational(1, 2), check=prove("doit"),
             why="at z = 0 the slope is σ(0) = 1/2, as GELU's is Φ(0) = 1/2"),
        Step(lhs=SwiGLU(x, W1, W2, W3), rhs=sp.MatMul(W2, gated), where=((a, W1 * x), (u, W3 * x)),
             check=prove("doit", "cancel"),
             why=f"the layer for d = {EX_D}, d_ff = {EX_FF}: hidden unit t is SiLU of the gate a_t times the "
                 "linear 'up' value u_t, and W₂ maps the products back to width d"),
        Step(lhs=p_glu, rhs=p_mlp + 3 * d * (d_ff - sp.Rational(8, 3) * d), check=prove("expand"),
             where=((p_glu, sp.Mul(3, d, d_ff, evaluate=False)), (p_mlp, sp.Mul(2, d, 4 * d, evaluate=False))),
             why="parameters: three d × d_ff matrices against the 2017 MLP's two d × 4d (no biases); the "
                 "extra term vanishes exactly when d_ff = (8/3)d = 2·4d/3"),
        Step(lhs=f_glu, rhs=f_mlp, check=prove("expand"),
             where=((d_ff, sp.Rational(8, 3) * d), (f_glu, sp.Mul(2, 3, d, d_ff, evaluate=False)),
                    (f_mlp, sp.Mul(2, 2, d, 4 * d, evaluate=False))),
             why="with that width the FLOPs per token agree too (2 per multiply-add, every matrix once)"),
    )
    return Derivation(
        summary=("Llama's feed-forward layer is a gated linear unit with the SiLU (Swish) gate: "
                 "FFN(x) = W₂(SiLU(W₁x) ⊙ W₃x). One projection (W₁, 'gate') passes through SiLU(z) = z·σ(z) "
                 "and multiplies, entry by entry, a second projection (W₃, 'up'); W₂ ('down') maps back to "
                 "width d. SiLU is smooth, slope 1/2 at 0, and dips slightly below 0 for negative inputs. "
                 "Three matrices cost 3·d·d_ff parameters; choosing d_ff = (8/3)d spends exactly the 8d² of "
                 "the 2017 MLP's two d × 4d matrices. Llama rounds that width up to a multiple of 256 "
                 "(Llama 2) or scales it by 1.3 and rounds to a multiple of 1024 (Llama 3)."),
        symbols=(Symbol(x, "one token's vector (column)", "d × 1"),
                 Symbol(W1, "gate projection (transformers: gate_proj.weight)", "d_ff × d"),
                 Symbol(W3, "up projection (up_proj.weight)", "d_ff × d"),
                 Symbol(W2, "down projection (down_proj.weight)", "d × d_ff"),
                 Symbol(a, "gate pre-activations W₁x", "d_ff × 1"), Symbol(u, "up values W₃x", "d_ff × 1"),
                 Symbol(z, "a real number"), Symbol(d, "model width"), Symbol(d_ff, "hidden width"),
                 Symbol(p_glu, "parameters of the SwiGLU layer"), Symbol(p_mlp, "parameters of a 4d MLP"),
                 Symbol(f_glu, "FLOPs per token of the SwiGLU layer"), Symbol(f_mlp, "FLOPs per token of the MLP")),
        assumptions=("no biases (Llama: mlp_bias = False); the 2017 MLP's biases are left out of its count too",
                     f"the layer is written out for d = {EX_D}, d_ff = {EX_FF} with symbolic entries",
                     "column-vector convention (as the paper writes it); code applies x Wᵀ to rows"),
        steps=steps,
        result=Step(lhs=p_glu, rhs=p_mlp, where=((d_ff, sp.Rational(8, 3) * d),), check=prove("expand"),
                    why="with d_ff = (8/3)d SwiGLU costs what the 4d GELU MLP costs: 3·d·d_ff = 2·d·4d = 8d²"),
        example=_example(),
        example_title="SiLU'(−2), and Llama's hidden widths from their published configurations",
        notes=("Shazeer, 'GLU Variants Improve Transformer' (2020) introduced SwiGLU in the transformer FFN "
               "and kept the parameter count by shrinking d_ff by 2/3; LLaMA (Touvron et al., 2023) uses "
               "2/3 · 4d. The rounding is Meta's llama/model.py FeedForward; the configurations are "
               "meta-llama/Llama-2-7b-hf and meta-llama/Meta-Llama-3-8B config.json on the Hugging Face hub "
               "(intermediate_size 11008 and 14336 at hidden_size 4096).",),
        closed_forms=swiglu_forms,
    )


def _example() -> tuple:
    """Llama 2 7B: d = 4096, multiple 256 → 11008. Llama 3 8B: × 1.3, multiple 1024 → 14336."""
    two_thirds = int(2 * 4 * 4096 / 3)
    l3 = int(1.3 * two_thirds)
    over = lambda a, b: sp.UnevaluatedExpr(a) / b  # noqa: E731 - a/b kept as written
    slope = lambda t: Sigmoid(t) * (1 + t * (1 - Sigmoid(t)))  # noqa: E731 - step 2's right-hand side
    return (
        Step(lhs=slope(-2), rel="<", rhs=0, check=prove("doit"),
             why="step 2 at z = −2: SiLU'(−2) = σ(−2)(2σ(−2) − 1) ≈ −0.091: SiLU decreases there, unlike ReLU"),
        Step(lhs=sp.floor(over(2 * 4 * 4096, 3), evaluate=False), rhs=sp.Integer(two_thirds), check=prove("doit"),
             why="2·4d/3 for d = 4096 is 10922.67; Llama keeps the integer part"),
        Step(lhs=sp.Mul(256, sp.ceiling(over(two_thirds, 256), evaluate=False), evaluate=False),
             rhs=sp.Integer(llama_hidden(4096, 256)), check=prove("doit"),
             why="Llama 2 7B rounds up to a multiple of 256: intermediate_size 11008"),
        Step(lhs=sp.Mul(1024, sp.ceiling(over(l3, 1024), evaluate=False), evaluate=False),
             rhs=sp.Integer(llama_hidden(4096, 1024, 1.3)), check=prove("doit"),
             why=f"Llama 3 8B first scales by ffn_dim_multiplier 1.3 (int(1.3 · {two_thirds}) = {l3}), then "
                 "rounds up to a multiple of 1024: intermediate_size 14336"),
        Step(lhs=sp.Mul(3, 4096, 14336, evaluate=False), rhs=sp.Integer(3 * 4096 * 14336),
             why="so one Llama 3 8B MLP has 176,160,768 parameters, 1.3125× a 4d MLP's 2·4096·16384 (the factor 1.3, rounded up)"),
    )


def swiglu_forms(d: int, d_ff: int) -> dict[str, tuple]:
    """Closed forms for width ``d`` and hidden width ``d_ff``:

    ``"ffn"``: ((x[d × 1], W_1[d_ff × d], W_2[d × d_ff], W_3[d_ff × d]), W₂(SiLU(W₁x) ⊙ W₃x) [d × 1]),
    ``"silu"`` / ``"silu_grad"``: ((z,), SiLU(z)) / ((z,), SiLU'(z)) for a scalar Symbol ``z``,
    ``"parameters"``: ((), 3·d·d_ff).
    """
    positive_int(d, "d")
    positive_int(d_ff, "d_ff")
    x = sp.MatrixSymbol("x", d, 1)
    W1, W3 = sp.MatrixSymbol("W_1", d_ff, d), sp.MatrixSymbol("W_3", d_ff, d)
    W2 = sp.MatrixSymbol("W_2", d, d_ff)
    out = swiglu_column(x.as_explicit(), W1.as_explicit(), W2.as_explicit(), W3.as_explicit())
    silu = SiLU(z).doit()
    return {"ffn": ((x, W1, W2, W3), out), "silu": ((z,), silu), "silu_grad": ((z,), sp.diff(silu, z)),
            "parameters": ((), sp.Integer(3 * d * d_ff))}
