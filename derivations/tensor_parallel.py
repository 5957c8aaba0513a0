r"""Tensor parallelism (Megatron-LM): one layer's weights split across p devices, one all-reduce to join them.

    attention:  MultiHead(XW_Q, XW_K, XW_V, h) W_O = Σ_r MultiHead(XW_Q^(r), XW_K^(r), XW_V^(r), h/p) W_O^(r)
    MLP:        GELU(XW₁ + 𝟙b₁) W₂ + 𝟙b₂ = Σ_r GELU(XW₁^(r) + 𝟙b₁^(r)) W₂^(r) + 𝟙b₂

The first matrix of each pair is cut by columns (rank r keeps h/p whole heads, or d_ff/p hidden units),
the second by rows. Everything between them — attention inside a head, GELU on each unit — works on one
rank's columns alone, so the only communication is the sum at the end (one all-reduce forward) and, for
the gradient of the shared input X, one all-reduce backward. A ring all-reduce of N values sends
2(p − 1)/p · N values per rank.

``explainer verify tensor-parallel-attention --world-size P`` runs this split in P real processes and
measures the bytes.
"""
from __future__ import annotations

import sympy as sp

from explainer.derivations.feed_forward import GELU, gelu_erf
from explainer.derivations.softmax import Ones
from explainer.model import Derivation, Step, Symbol, define, prove
from explainer.operators import Attn, MatrixOperator
from explainer.registry import derivation

p = sp.Symbol("p", integer=True, positive=True)
N = sp.Symbol("N", integer=True, positive=True)
B, T, d, b = sp.symbols("B T d b", integer=True, positive=True)
d_ff = sp.Symbol("d_ff", integer=True, positive=True)


def mm(*factors):
    """A matrix product kept as written."""
    return sp.MatMul(*factors, evaluate=False)


def madd(*terms):
    """A matrix sum kept as written."""
    return sp.MatAdd(*terms, evaluate=False)


class MultiHead(MatrixOperator):
    """``MultiHead(Q, K, V, h) = [Attn(Q_1, K_1, V_1) | … | Attn(Q_h, K_h, V_h)]``: h heads on column blocks."""

    name, latex_name = "MultiHead", r"\operatorname{MultiHead}"

    def expand(self, Q, K, V, heads):
        width = Q.cols // int(heads)
        cols = [slice(c * width, (c + 1) * width) for c in range(int(heads))]
        return sp.ImmutableMatrix(sp.Matrix.hstack(*(Attn(Q[:, c], K[:, c], V[:, c]).doit() for c in cols)))


class _Blocks(MatrixOperator):
    """Blocks side by side or stacked, printed as a block matrix and expanded to one explicit matrix.
    (SymPy's own BlockMatrix multiplies out very slowly against an operator.)"""

    def _block(self):  # pragma: no cover - both subclasses define it
        raise NotImplementedError

    def _sympystr(self, printer) -> str:
        return printer._print(self._block())

    def _pretty(self, printer):
        return printer._print(self._block())

    def _latex(self, printer, exp=None) -> str:
        return printer._print(self._block())


class Columns(_Blocks):
    """``[A | B | …]``: column blocks."""

    @property
    def shape(self):
        return (self.args[0].shape[0], sum(a.shape[1] for a in self.args))

    def _block(self):
        return sp.BlockMatrix([list(self.args)])

    def expand(self, *blocks):
        return sp.ImmutableMatrix(sp.Matrix.hstack(*blocks))


class Rows(_Blocks):
    """``[A; B; …]``: row blocks, stacked."""

    @property
    def shape(self):
        return (sum(a.shape[0] for a in self.args), self.args[0].shape[1])

    def _block(self):
        return sp.BlockMatrix([[a] for a in self.args])

    def expand(self, *blocks):
        return sp.ImmutableMatrix(sp.Matrix.vstack(*blocks))


class GeluMatrix(MatrixOperator):
    """``GELU(A)``: GELU applied to every entry of A."""

    name, latex_name = "GELU", r"\operatorname{GELU}"

    def expand(self, A):
        return A.applyfunc(gelu_erf)


def _ranks(name: str, rows: int, cols: int, count: int = 2, mark: str = "{}"):
    """Rank r's blocks ``name1, name2, …`` (rows × cols each); ``mark`` formats the rank (``^({})``)."""
    return [sp.MatrixSymbol(name + mark.format(r), rows, cols) for r in range(1, count + 1)]


def _all_reduce_steps(what: str) -> tuple[Step, ...]:
    """The communication of one layer: the ring all-reduce volume, and its limit for many ranks."""
    chunk = sp.Mul(p - 1, N / p, evaluate=False)
    return (
        Step(lhs=sp.Derivative(sp.Function("Y_1")(sp.Symbol("x")) + sp.Function("Y_2")(sp.Symbol("x")),
                               sp.Symbol("x")),
             rhs=sp.Derivative(sp.Function("Y_1")(sp.Symbol("x")), sp.Symbol("x"))
             + sp.Derivative(sp.Function("Y_2")(sp.Symbol("x")), sp.Symbol("x")),
             why=f"backward: every rank used the same input X, so ∂L/∂X is the sum of the ranks' partial "
                 f"gradients — one all-reduce (Megatron's f); the forward sum passes ∂L/∂Y to every rank "
                 f"unchanged (g), so {what} needs no other communication", check=prove("doit")),
        define(N, B * T * d, "values in one all-reduce: the layer's output (or ∂L/∂X) for B sequences of T "
                             "tokens, d wide"),
        Step(lhs=sp.Add(chunk, chunk, evaluate=False), rhs=2 * (p - 1) * N / p,
             why="ring all-reduce, values sent by each rank: reduce-scatter (p − 1 steps, one chunk of N/p "
                 "each) then all-gather (p − 1 more)", check=prove("cancel")),
        Step(lhs=sp.Limit(2 * (p - 1) * N / p, p, sp.oo), rhs=2 * N,
             why="more ranks do not make it cheaper: each rank sends almost 2N values per all-reduce, while "
                 "its share of the arithmetic falls as 1/p"),
    )


def _volume_example(ranks: int, batch: int, tokens: int, width: int, nbytes: int, why: str) -> Step:
    """Bytes one rank sends in one all-reduce, for concrete sizes (the where-lines give them)."""
    value = 2 * (ranks - 1) * batch * tokens * width * nbytes // ranks
    return Step(lhs=2 * (p - 1) * N * b / p, rhs=sp.Integer(value), why=why,
                where=((p, ranks), (N, sp.Mul(batch, tokens, width, evaluate=False)), (b, nbytes)))


@derivation("tensor-parallel-attention", "Tensor-parallel attention: heads split across devices", "parallelism")
def tensor_parallel_attention() -> Derivation:
    X = sp.MatrixSymbol("X", 2, 4)
    W = {k: sp.MatrixSymbol(f"W_{k}", 4, 4) for k in "QKVO"}
    shards = {k: _ranks(f"W_{k}", 4, 2) for k in "QKV"}
    W_O = _ranks("W_O", 2, 4)
    H = _ranks("H", 2, 2)
    Y = _ranks("Y", 2, 4)
    h = sp.Integer(4)
    split = tuple((W[k], Columns(*shards[k])) for k in "QKV")
    full = MultiHead(mm(X, W["Q"]), mm(X, W["K"]), mm(X, W["V"]), h)
    per_rank = [MultiHead(mm(X, shards["Q"][r]), mm(X, shards["K"][r]), mm(X, shards["V"][r]), h / 2)
                for r in range(2)]
    steps = (
        Step(lhs=mm(X, W["Q"]), rhs=Columns(mm(X, shards["Q"][0]), mm(X, shards["Q"][1])), where=split[:1],
             why="column parallel (n = 2, d = 4, p = 2, symbolic entries): rank r keeps the columns of W_Q that "
                 "belong to its h/p heads; X is on every rank, so each computes its own queries, no "
                 "communication; W_K, W_V likewise", check=prove("doit")),
        Step(lhs=full, rhs=Columns(*H), where=split[1:] + tuple(zip(H, per_rank)),
             why="heads never mix inside attention: the h = 4 heads are rank 1's two heads next to rank 2's "
                 "two, each rank computing its own from its own columns", check=prove("doit")),
        Step(lhs=mm(Columns(*H), W["O"]), rhs=madd(mm(H[0], W_O[0]), mm(H[1], W_O[1])),
             where=((W["O"], Rows(*W_O)),),
             why="row parallel: W_O cut into row blocks, one per rank; concatenated heads times W_O is the "
                 "sum of each rank's heads times its row block", check=prove("doit")),
        Step(lhs=mm(full, W["O"]), rhs=madd(*Y), where=tuple((Y[r], mm(H[r], W_O[r])) for r in range(2)),
             why="so the layer is a sum of partial outputs Y_r, each computed by one rank from its shards "
                 "alone; one all-reduce adds them (forward), and b_O is added once, after it",
             check=prove("doit")),
        *_all_reduce_steps("the attention layer"),
    )
    example = (
        _volume_example(2, 2, 16, 64, 8, "the reference problem of explainer verify (p = 2, B = 2, T = 16, "
                                         "d = 64, float64): bytes each rank sends per all-reduce"),
        _volume_example(4, 2, 16, 64, 8, "the same with p = 4: 3/2 N values instead of N"),
        _volume_example(8, 1, 4096, 8192, 2, "a large model (d = 8192, 4096 tokens, bfloat16, p = 8): about "
                                             "117 MB per all-reduce, two per layer per step"),
    )
    return Derivation(
        summary=("Megatron-style tensor parallelism splits an attention layer across p devices by heads. W_Q, "
                 "W_K, W_V are cut into column blocks — rank r keeps the columns of its h/p heads — and W_O into "
                 "the matching row blocks. Because heads never mix inside attention, each rank computes its heads "
                 "from the shared input X alone and multiplies them by its rows of W_O; the layer's output is "
                 "the sum of these partial outputs, so one all-reduce joins them. Backward, the gradient of the "
                 "shared input is likewise a sum of partial gradients: one more all-reduce. A ring all-reduce "
                 "of N values sends 2(p − 1)/p · N values per rank, close to 2N however many ranks there are."),
        symbols=(Symbol(X, "token embeddings, on every rank", "n × d"),
                 Symbol(W["Q"], "query weights; W_K, W_V, W_O alike", "d × d"),
                 Symbol(shards["Q"][0], "rank 1's columns of W_Q (its h/p heads)", "d × d/p"),
                 Symbol(W_O[0], "rank 1's rows of W_O", "d/p × d"),
                 Symbol(H[0], "rank 1's heads, concatenated", "n × d/p"),
                 Symbol(Y[0], "rank 1's partial output", "n × d"),
                 Symbol(p, "number of ranks (devices); divides h"),
                 Symbol(N, "values in one all-reduce, B·T·d"), Symbol(B, "batch size"),
                 Symbol(T, "tokens per sequence"), Symbol(d, "model width"),
                 Symbol(b, "bytes per value (8 for float64, 2 for bfloat16)")),
        assumptions=("p divides the number of heads h; rank r holds heads r·h/p … (r + 1)·h/p − 1",
                     "self-attention without mask or dropout; biases b_Q, b_K, b_V split with their columns, "
                     "b_O added once after the sum (the proof leaves biases out, the verification has them)",
                     "ring all-reduce: p − 1 reduce-scatter and p − 1 all-gather steps"),
        steps=steps,
        result=Step(lhs=mm(full, W["O"]), rhs=madd(*Y),
                    why="MultiHead(X W_Q, X W_K, X W_V, h) W_O = Σ_r Y_r: one all-reduce forward, one backward, "
                        "each 2(p − 1)/p · B·T·d values per rank", check=prove("doit")),
        example=example,
        example_title="bytes one rank sends per all-reduce",
        notes=("The block identities are proved for symbolic entries at n = 2, d = 4, h = 4, p = 2; the "
               "communication volume for symbolic p and N.",
               "explainer verify tensor-parallel-attention --world-size P runs the split in P processes (gloo "
               "on the CPU, NCCL on GPUs), compares output and every gradient with torch.nn.MultiheadAttention, "
               "and measures the bytes each rank writes to its sockets against 2(p − 1)/p · B·T·d · b."),
    )


@derivation("tensor-parallel-mlp", "Tensor-parallel MLP: no communication between the two layers", "parallelism")
def tensor_parallel_mlp() -> Derivation:
    X = sp.MatrixSymbol("X", 2, 2)
    one = Ones(2, 1)
    W1, b1 = sp.MatrixSymbol("W_1", 2, 4), sp.MatrixSymbol("b_1", 1, 4)
    W2, b2 = sp.MatrixSymbol("W_2", 4, 2), sp.MatrixSymbol("b_2", 1, 2)
    W1s, b1s, W2s = (_ranks(name, *shape, mark="^({})") for name, shape in
                     (("W_1", (2, 2)), ("b_1", (1, 2)), ("W_2", (2, 2))))
    A, A2 = sp.MatrixSymbol("A_1", 2, 2), sp.MatrixSymbol("A_2", 2, 2)
    H = _ranks("H", 2, 2)
    Y = _ranks("Y", 2, 2)
    pre = [madd(mm(X, W1s[r]), mm(one, b1s[r])) for r in range(2)]
    layer = madd(mm(GeluMatrix(madd(mm(X, W1), mm(one, b1))), W2), mm(one, b2))
    split = ((W1, Columns(*W1s)), (b1, Columns(*b1s)))
    steps = (
        Step(lhs=madd(mm(X, W1), mm(one, b1)), rhs=Columns(*pre), where=split,
             why="column parallel (n = 2, d = 2, d_ff = 4, p = 2, symbolic entries): rank r keeps d_ff/p "
                 "columns of W₁ and the matching entries of b₁, and computes its hidden units from X alone",
             check=prove("doit")),
        Step(lhs=GeluMatrix(Columns(A, A2)), rhs=Columns(GeluMatrix(A), GeluMatrix(A2)),
             why="GELU acts on each entry by itself, so GELU of the column blocks is the column blocks of "
                 "GELU: nothing to exchange between the two layers", check=prove("doit")),
        Step(lhs=sp.Add(GELU(1), GELU(1), evaluate=False), rel="<", rhs=GELU(2),
             why="GELU is not additive (1.683 < 1.955): had W₁ been cut by rows, the partial sums would "
                 "need an all-reduce before the GELU — which is why W₁ is cut by columns",
             check=prove("doit")),
        Step(lhs=mm(Columns(*H), W2), rhs=madd(mm(H[0], W2s[0]), mm(H[1], W2s[1])),
             where=((W2, Rows(*W2s)),),
             why="row parallel: W₂ cut into the row blocks that match rank r's hidden units", check=prove("doit")),
        Step(lhs=layer, rhs=madd(Y[0], Y[1], mm(one, b2)),
             where=tuple((Y[r], mm(GeluMatrix(pre[r]), W2s[r])) for r in range(2)),
             why="so the MLP is a sum of partial outputs Y_r, each from one rank's shards; one all-reduce adds "
                 "them and b₂ is added once, after it", check=prove("doit")),
        *_all_reduce_steps("the MLP"),
        Step(lhs=sp.Add(2 * d * d_ff / p, d_ff / p, d, evaluate=False), rhs=(2 * d * d_ff + d_ff) / p + d,
             why="parameters on one rank: its columns of W₁ and b₁, its rows of W₂ (d·d_ff/p each) and the "
                 "whole b₂", check=prove("cancel")),
    )
    example = (
        _volume_example(2, 2, 16, 64, 8, "the reference problem of explainer verify (p = 2, B = 2, T = 16, "
                                         "d = 64, float64): bytes each rank sends per all-reduce"),
        Step(lhs=(2 * d * d_ff + d_ff) / p + d, rhs=sp.Integer(16576),
             where=((d, 64), (d_ff, 256), (p, 2)),
             why="its parameters per rank (d = 64, d_ff = 256, p = 2), of 2·64·256 + 256 + 64 = 33088 in all"),
    )
    return Derivation(
        summary=("The MLP splits across p devices with one all-reduce. W₁ is cut by columns: rank r keeps "
                 "d_ff/p hidden units (columns of W₁ and entries of b₁) and computes them from the shared input "
                 "X alone. GELU acts on each unit by itself, so the ranks need nothing from each other between "
                 "the two layers; W₂ is cut by the matching rows, and the output is the sum of the ranks' "
                 "partial outputs plus b₂, added once. Cutting W₁ by rows instead would need a sum before the "
                 "GELU, which is not additive. Backward, the gradient of X is again a sum: one all-reduce."),
        symbols=(Symbol(X, "token embeddings, on every rank", "n × d"),
                 Symbol(W1, "first layer", "d × d_ff"), Symbol(W1s[0], "rank 1's columns of W₁", "d × d_ff/p"),
                 Symbol(b1, "first bias", "1 × d_ff"), Symbol(W2, "second layer", "d_ff × d"),
                 Symbol(W2s[0], "rank 1's rows of W₂", "d_ff/p × d"), Symbol(b2, "second bias, added once", "1 × d"),
                 Symbol(one, "a column of ones: 𝟙b adds b to every row", "n × 1"),
                 Symbol(Y[0], "rank 1's partial output", "n × d"),
                 Symbol(p, "number of ranks; divides d_ff"), Symbol(N, "values in one all-reduce, B·T·d"),
                 Symbol(d_ff, "hidden width, usually 4d"), Symbol(b, "bytes per value")),
        assumptions=("p divides d_ff; rank r holds hidden units r·d_ff/p … (r + 1)·d_ff/p − 1",
                     "GELU in its exact form x Φ(x), applied entry by entry",
                     "ring all-reduce: p − 1 reduce-scatter and p − 1 all-gather steps"),
        steps=steps,
        result=Step(lhs=layer, rhs=madd(Y[0], Y[1], mm(one, b2)),
                    why="GELU(X W₁ + 𝟙b₁) W₂ + 𝟙b₂ = Σ_r Y_r + 𝟙b₂: one all-reduce forward, one backward",
                    check=prove("doit")),
        example=example,
        example_title="the reference problem of explainer verify",
        notes=("The block identities are proved for symbolic entries at n = 2, d = 2, d_ff = 4, p = 2; the "
               "volume and the parameter count for symbolic sizes.",
               "explainer verify tensor-parallel-mlp --world-size P runs the split in P processes and compares "
               "with nn.Sequential(nn.Linear, nn.GELU, nn.Linear), forward and backward."),
    )
