r"""Multi-head attention: h smaller attentions side by side, mixed by W_O.

    d_k = d_model / h
    head_r = softmax(X W_Q^(r) (X W_K^(r))ᵀ / √d_k) X W_V^(r)            (n × d_k)
    MultiHead(X) = [head_1 | … | head_h] W_O = Σ_r head_r W_Or         (n × d_model)

The projection W_Q (d × d) is cut into h column blocks of width d_k, one per head; each head attends
on its own slice, the outputs are concatenated back to width d and mixed by W_O, whose row blocks
W_Or belong to the heads. Same parameter count as one full-width head: 4d² + 4d with biases.
"""
from __future__ import annotations

import sympy as sp

from explainer.derivations.attention import TOKENS, attention_matrix, stable_row_softmax
from explainer.errors import UsageError
from explainer.model import Derivation, Step, Symbol, define, prove
from explainer.operators import Attn, MatrixOperator, Row, row_softmax
from explainer.registry import derivation

d = sp.Symbol("d", integer=True, positive=True)  # d_model, short so sums of shapes fit a line
h = sp.Symbol("h", integer=True, positive=True)
d_k = sp.Symbol("d_k", positive=True)
n = sp.Symbol("n", integer=True, positive=True)

X_EXAMPLE = sp.ImmutableMatrix([[1, 0, 1, 0], [0, 1, 0, 1], [1, 1, 0, 0]])   # (3 tokens, d_model=4)


def torch_mha(X, W_in, b_in, W_O, b_O, heads: int, softmax=stable_row_softmax) -> sp.ImmutableMatrix:
    """Self-attention exactly as torch.nn.MultiheadAttention computes it (explicit matrices):
    q, k, v = X W_inᵀ + b_in split in three; head r (named head_1 … head_h) uses feature columns
    (r − 1)·d_k … r·d_k − 1; out = [head_1 | … | head_h] W_Oᵀ + b_O. ``softmax`` is the stable row
    softmax unless given."""
    X, W_in, b_in, W_O, b_O = (sp.ImmutableMatrix(sp.Matrix(M)) for M in (X, W_in, b_in, W_O, b_O))
    tokens, width = X.shape
    ones = sp.ones(tokens, 1)
    qkv = X * W_in.T + ones * b_in                                     # (n, 3d)
    q, k, v = (qkv[:, part * width:(part + 1) * width] for part in range(3))   # (n, d) each
    size = width // heads
    cols = [slice(r * size, (r + 1) * size) for r in range(heads)]
    outs = [attention_matrix(q[:, c], k[:, c], v[:, c], softmax=softmax) for c in cols]  # (n, d_k)
    return sp.ImmutableMatrix(sp.Matrix.hstack(*outs)) * W_O.T + ones * b_O   # (n, d)


class MultiHead(MatrixOperator):
    """``MultiHead_h(X)``: torch.nn.MultiheadAttention's self-attention with h heads (:func:`torch_mha`,
    the definition with the plain row softmax); the weights and biases are parameters, printed only as
    ``MultiHead_h(X)``."""

    shown = 1

    @property
    def name(self) -> str:
        """``MultiHead₂``: the number of heads as a subscript."""
        return "MultiHead" + str(self.args[5]).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))

    @property
    def latex_name(self) -> str:
        return rf"\operatorname{{MultiHead}}_{{{self.args[5]}}}"

    def expand(self, X, W_in, b_in, W_O, b_O, heads):
        return torch_mha(X, W_in, b_in, W_O, b_O, heads=int(heads), softmax=row_softmax)


def mha_symbols(n: int, d_model: int):
    """``X[n×d], W_in[3d×d], b_in[1×3d], W_O[d×d], b_O[1×d]`` as matrix symbols."""
    return (sp.MatrixSymbol("X", n, d_model), sp.MatrixSymbol("W_in", 3 * d_model, d_model),
            sp.MatrixSymbol("b_in", 1, 3 * d_model), sp.MatrixSymbol("W_O", d_model, d_model),
            sp.MatrixSymbol("b_O", 1, d_model))


def compact_mha(X, W_in, b_in, W_O, b_O, heads: int) -> sp.ImmutableMatrix:
    """The same layer as :func:`torch_mha` (stable softmax) written to keep the expression small:
    each head's weighted sum shares one denominator, out[r, o] = Σ_heads (Σ_c W_O[o, c] Σ_j e_j v_jc) / Σ_j e_j
    + b_O[o] with e_j = exp(s_rj − max_l s_rl)."""
    tokens, width = X.shape
    size = width // heads
    qkv = X * W_in.T + sp.ones(tokens, 1) * b_in                      # (n, 3d)
    q, k, v = (qkv[:, part * width:(part + 1) * width] for part in range(3))   # (n, d) each
    rows = []
    for r in range(tokens):
        parts = [[] for _ in range(width)]                              # out[r, o] as a list of head terms
        for g in range(heads):
            cols = range(g * size, (g + 1) * size)
            scores = [sum(q[r, c] * k[j, c] for c in cols) / sp.sqrt(size) for j in range(tokens)]
            top = sp.Max(*scores)
            e = [sp.exp(x - top) for x in scores]                       # (n,) unnormalised weights
            total = sp.Add(*e)
            mixed = {c: sp.Add(*(e[j] * v[j, c] for j in range(tokens))) for c in cols}   # Σ_j e_j v_jc
            for o in range(width):
                parts[o].append(sp.Add(*(W_O[o, c] * mixed[c] for c in cols)) / total)
        rows.append([sp.Add(*parts[o]) + b_O[0, o] for o in range(width)])
    return sp.ImmutableMatrix(rows)


def mha_forms(n: int, d_model: int, h: int) -> dict[str, tuple]:
    """Self-attention (query = key = value = X, no mask) in torch.nn.MultiheadAttention's layout:

    ``{"output": ((X[n×d], W_in[3d×d] = in_proj_weight, b_in[1×3d] = in_proj_bias,
                   W_O[d×d] = out_proj.weight, b_O[1×d] = out_proj.bias), output [n×d]),
       "parameters": ((d_model,), 4 d_model² + 4 d_model)}``

    The output expression grows quickly with the sizes (every entry depends on every input): keep n and
    d_model small (e.g. n ≤ 3, d_model ≤ 4). Raises :class:`~explainer.errors.UsageError` when ``h``
    does not divide ``d_model``.
    """
    if n < 1 or d_model < 1 or h < 1:
        raise UsageError(f"sizes must be positive (n={n}, d_model={d_model}, heads={h})")
    if d_model % h:
        raise UsageError(f"--heads {h} must divide --d-model {d_model} (d_k = d_model / heads)")
    args = mha_symbols(n, d_model)
    out = compact_mha(*(M.as_explicit() for M in args), heads=h)
    width = sp.Symbol("d_model", integer=True, positive=True)   # named for the run's config field
    return {"output": (args, out), "parameters": ((width,), 4 * width**2 + 4 * width)}


def _mul(*factors):
    return sp.MatMul(*factors, evaluate=False)


def _cols(M, start: int, stop: int):
    """Columns ``start … stop − 1`` of ``M``, unevaluated (printed ``M[:, start:stop]``)."""
    return sp.MatrixSlice(M, (0, M.shape[0]), (start, stop))


@derivation("multi-head-attention", "Multi-head attention", "attention")
def multi_head_attention() -> Derivation:
    X = sp.MatrixSymbol("X", 2, 4)
    WQ1, WQ2 = sp.MatrixSymbol("W_Q1", 4, 2), sp.MatrixSymbol("W_Q2", 4, 2)
    H1, H2 = sp.MatrixSymbol("head_1", 2, 2), sp.MatrixSymbol("head_2", 2, 2)
    WO1, WO2 = sp.MatrixSymbol("W_O1", 2, 4), sp.MatrixSymbol("W_O2", 2, 4)
    concat = sp.MatMul(sp.BlockMatrix([[H1, H2]]), sp.BlockMatrix([[WO1], [WO2]]))
    torch_names = mha_symbols(2, 2)
    Xs, W_in, b_in, W_O, b_O = torch_names
    ones = sp.MatrixSymbol("1", 2, 1)
    qkv = sp.MatrixSymbol("QKV", 2, 6)
    Qs, Ks, Vs = (sp.MatrixSymbol(name, 2, 2) for name in "QKV")
    parts = ((qkv, sp.MatAdd(_mul(Xs, W_in.T), _mul(ones, b_in), evaluate=False)), *((M, _cols(qkv, 2 * p, 2 * p + 2)) for p, M in
                                                              enumerate((Qs, Ks, Vs))))
    heads = [sp.MatrixSymbol(f"head_{r + 1}", 2, 1) for r in range(2)]
    per_head = tuple((H, Attn(*(_cols(M, r, r + 1) for M in (Qs, Ks, Vs)))) for r, H in enumerate(heads))
    wo_blocks = [sp.MatrixSymbol(f"W_O{r + 1}", 1, 2) for r in range(2)]
    blocks = tuple((B, sp.Transpose(_cols(W_O, r, r + 1))) for r, B in enumerate(wo_blocks))
    layer = lambda h: MultiHead(Xs, W_in, b_in, W_O, b_O, h)  # noqa: E731
    shapes = {"W_Q": (d, d), "W_K": (d, d), "W_V": (d, d), "W_O": (d, d), "b_Q": (d,), "b_K": (d,), "b_V": (d,),
              "b_O": (d,)}
    count = sp.Add(*(sp.Mul(*dims, evaluate=False) for dims in shapes.values()), evaluate=False)
    steps = (
        define(d_k, d / h, "each of the h heads works in width d_k = d_model / h (h must divide d_model)"),
        Step(lhs=sp.MatMul(X, sp.BlockMatrix([[WQ1, WQ2]])), rhs=sp.BlockMatrix([[X * WQ1, X * WQ2]]),
             why="cut W_Q into column blocks, one per head (d = 4, h = 2, symbolic entries): XW_Q = [XW_Q1 | "
                 "XW_Q2], so head r's queries are a slice of the full queries; W_K, W_V likewise"),
        Step(lhs=concat, rhs=sp.MatAdd(sp.MatMul(H1, WO1), sp.MatMul(H2, WO2)),
             why="concatenate the head outputs and multiply by W_O, cut into row blocks: [head₁ | head₂] W_O = "
                 "head₁W_O1 + head₂W_O2"),
        Step(lhs=layer(2), rhs=sp.MatAdd(*(_mul(H, B) for H, B in zip(heads, wo_blocks)), _mul(ones, b_O),
                                         evaluate=False),
             where=(*parts, *per_head, *blocks, (ones, sp.ones(2, 1))),
             why="torch's layout, n = 2, d = 2, h = 2, symbolic entries: q, k, v are column blocks of "
                 "XW_inᵀ + 1·b_in, head r attends on column r of each, and the concatenation times W_Oᵀ is "
                 "the sum of each head times its block W_Or of W_Oᵀ, plus the bias"),
        Step(lhs=layer(1), rhs=sp.MatAdd(_mul(Attn(Qs, Ks, Vs), W_O.T), _mul(ones, b_O), evaluate=False),
             why="one head (h = 1, d_k = d): multi-head attention is single-head scaled dot-product attention on "
                 "the full q, k, v followed by the output layer"),
        Step(lhs=count, rhs=4 * d**2 + 4 * d,
             why="parameters from the shapes: W_Q, W_K, W_V, W_O are d × d, the four biases have d entries"),
        Step(lhs=h * 3 * d * d_k + d * d + 4 * d, rhs=4 * d**2 + 4 * d,
             why="counted per head: h heads × 3 projections of d × d_k, plus W_O and the biases — the same for "
                 "every h, so more heads cost no parameters", check=prove("cancel", "expand")),
        Step(lhs=sp.Add(sp.Mul(3 * d, d, evaluate=False), 3 * d, sp.Mul(d, d, evaluate=False), d, evaluate=False),
             rhs=4 * d**2 + 4 * d,
             why="torch stores in_proj_weight (3d × d), in_proj_bias (3d), out_proj.weight (d × d), out_proj.bias (d)"),
    )
    bank = TOKENS.index("bank")
    Xe = X_EXAMPLE
    X3 = sp.MatrixSymbol("X", 3, 4)
    X_1, X_2 = sp.MatrixSymbol("X_1", 3, 2), sp.MatrixSymbol("X_2", 3, 2)
    scores = [Xe.row(bank)[:, 2 * r:2 * r + 2] * Xe[:, 2 * r:2 * r + 2].T / sp.sqrt(2) for r in range(2)]
    head_rows = [attention_matrix(*(Xe[:, 2 * r:2 * r + 2],) * 3).row(bank) for r in range(2)]
    eye = sp.eye(4)
    W_in_e = sp.ImmutableMatrix(sp.Matrix.vstack(eye, eye, eye))
    identity_layer = MultiHead(X3, W_in_e, sp.zeros(1, 12), eye, sp.zeros(1, 4), 2)
    example = (
        Step(lhs=_mul(1 / sp.sqrt(2), Row(X_1, bank), X_1.T), rhs=scores[0], where=((X_1, Xe[:, 0:2]),),
             check=prove("doit"),
             why=f"head 1 sees features 0–1 (the meaning slice): the scaled scores of bank (row {bank}) against "
                 f"{', '.join(f'{w} ({t})' for t, w in enumerate(TOKENS))}, d_k = 2"),
        Step(lhs=_mul(1 / sp.sqrt(2), Row(X_2, bank), X_2.T), rhs=scores[1], where=((X_2, Xe[:, 2:4]),),
             check=prove("doit"),
             why="head 2 sees features 2–3: bank's slice there is zero, so all its scores are 0 and head 2 "
                 "averages the three words uniformly"),
        Step(lhs=Row(identity_layer, bank),
             rhs=sp.BlockMatrix([[Row(Attn(X_1, X_1, X_1), bank), Row(Attn(X_2, X_2, X_2), bank)]]),
             where=((X3, Xe),),
             why=f"with W_Q = W_K = W_V = W_O = I and no biases, bank's row of the layer is its two head outputs "
                 f"side by side: ≈ {tuple(sp.N(x, 3) for x in head_rows[0])} and "
                 f"{tuple(sp.N(x, 3) for x in head_rows[1])}", check=prove("doit", "cancel")),
    )
    return Derivation(
        summary=("Multi-head attention runs h attentions side by side, each on its own slice of width "
                 "d_k = d_model/h: the projections W_Q, W_K, W_V are cut into h column blocks, each head computes "
                 "softmax(Q_r K_rᵀ/√d_k)V_r, the head outputs are concatenated back to width d_model and mixed by "
                 "W_O — which is the same as adding head_r W_Or over the heads. Different heads can follow "
                 "different relations (one head links 'bank' to 'river', another tracks position). With one head "
                 "it is plain scaled dot-product attention, and the parameter count, 4d² + 4d with biases, does "
                 "not depend on the number of heads."),
        symbols=(Symbol(X, "token embeddings (here 2 tokens, d = 4)", "n × d_model"),
                 Symbol(WQ1, "head 1's block of W_Q (W_Q = [W_Q1 | W_Q2])", "d_model × d_k"),
                 Symbol(H1, "head 1's output softmax(Q_1K_1ᵀ/√d_k)V_1", "n × d_k"),
                 Symbol(WO1, "head 1's row block of W_O", "d_k × d_model"),
                 Symbol(torch_names[1], "torch's in_proj_weight: W_Q, W_K, W_V stacked, each out × in", "3d × d"),
                 Symbol(torch_names[2], "torch's in_proj_bias", "1 × 3d"),
                 Symbol(torch_names[3], "torch's out_proj.weight", "d × d"),
                 Symbol(torch_names[4], "out_proj.bias", "1 × d"),
                 Symbol(d, "model width d"), Symbol(h, "number of heads, divides d"), Symbol(d_k, "head width d/h")),
        assumptions=("self-attention: query = key = value = X", "h divides d_model",
                     "no mask, no dropout; one token per row (row vectors)"),
        steps=steps,
        result=Step(lhs=count, rhs=4 * d**2 + 4 * d,
                    why="MultiHead(X) = Concat(head_1, …, head_h) W_O = Σ_r head_r W_Or, with 4d² + 4d parameters"),
        example=example,
        example_title="two heads on 'the river bank' (d_model = 4, d_k = 2)",
        notes=("The block identities and the torch layout are proved for symbolic entries at the sizes shown; "
               "the parameter count is proved for symbolic d and h.",
               "closed_forms gives the same layer with each head's softmax denominator shared (compact_mha), a "
               "smaller expression; its tests compare it with torch.nn.MultiheadAttention and with numpy.",),
        closed_forms=mha_forms,
    )
