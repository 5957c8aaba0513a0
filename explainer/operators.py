r"""Named operators: the objects a reader names (softmax, Attn, LN, GELU, PE, CE, …) as SymPy objects.

SymPy evaluates while an expression is built, so the form an author means — ``softmax(x + c)``,
``Attn(P X) = P·Attn(X)`` — would be gone before it is printed. An operator here *prints* as its name
applied to its arguments in every format (``sstr``, the 2-D pretty printer, LaTeX) and *expands* to its
explicit definition only in :meth:`doit`, which is what the checker calls (and records: ``proved
(SymPy: doit → cancel)``).

Two kinds:

* :class:`MatrixOperator` — matrix-valued, e.g. ``Softmax(S)`` (row-wise), ``Attn(Q, K, V)``; its
  ``shape`` follows from its arguments, so it composes with ``MatMul`` like any matrix expression.
* :class:`ScalarOperator` — scalar-valued ``Function`` subclasses, e.g. ``GELU(x)``, ``sigma(x)``.

Subclasses set ``name`` (text and unicode), ``latex_name`` and implement ``expand(*args)`` — the
definition, on explicit arguments. Everything else (printing, ``doit``) is shared.
"""
from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement, MatrixExpr
from sympy.printing.pretty.stringpict import prettyForm


def explicit(M):
    """``M`` with its operators expanded, as an explicit matrix when its shape is concrete.

    Matrix symbols of concrete shape are written out entry by entry *before* ``doit``, so products and
    slices are plain matrix arithmetic (SymPy would otherwise build a symbolic sum per entry)."""
    M = sp.sympify(M).xreplace(_written_out(M)).doit()
    if isinstance(M, MatrixExpr) and not isinstance(M, sp.MatrixBase):
        M = M.as_explicit()
    return sp.ImmutableMatrix(M) if isinstance(M, sp.MatrixBase) else M


def _written_out(e) -> dict:
    """``{X: X.as_explicit()}`` for the matrix symbols of concrete shape in ``e`` that no entry with a
    symbolic index (``X[i, j]``) refers to."""
    if not isinstance(e, sp.Basic):
        return {}
    indexed = {m.parent for m in e.atoms(MatrixElement) if not (m.i.is_number and m.j.is_number)}
    return {m: m.as_explicit() for m in e.atoms(sp.MatrixSymbol)
            if m not in indexed and all(sp.sympify(dim).is_number for dim in m.shape)}


class _Printing:
    """Printing shared by both kinds: ``name(a, b)`` in text, unicode and LaTeX."""

    name = "op"
    latex_name = r"\operatorname{op}"
    shown: int | None = None  # how many leading arguments are printed (None: all); the rest are fixed parameters

    def _sympystr(self, printer) -> str:
        return f"{self.name}({', '.join(printer._print(a) for a in self.args[:self.shown])})"

    def _latex(self, printer, exp=None) -> str:
        inner = ", ".join(printer._print(a) for a in self.args[:self.shown])
        head = self.latex_name if exp is None else f"{self.latex_name}^{{{exp}}}"
        return rf"{head}\left({inner}\right)"

    def _pretty(self, printer):
        args = [printer._print(a) for a in self.args[:self.shown]]
        form = args[0]
        for a in args[1:]:
            form = prettyForm(*form.right(", ", a))
        args_form = prettyForm(*form.parens())
        head = prettyForm(self.name)
        out = prettyForm(*head.right(args_form), binding=prettyForm.FUNC)
        out.prettyFunc, out.prettyArgs = head, args_form  # what a power of it (f(x)²) is drawn from
        return out


class MatrixOperator(_Printing, MatrixExpr):
    """A named matrix-valued operator; ``shape`` is that of the first argument unless overridden."""

    def __new__(cls, *args):
        return MatrixExpr.__new__(cls, *(sp.sympify(a) for a in args))

    @property
    def shape(self):
        return self.args[0].shape

    def expand(self, *args):  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def doit(self, **hints):
        args = [explicit(a) if hints.get("deep", True) else a for a in self.args]
        return self.expand(*args)

    def _entry(self, i, j, **kwargs):
        return explicit(self)[i, j]


class ScalarOperator(_Printing, sp.Function):
    """A named scalar function; :meth:`doit` replaces it by ``expand(*args)``."""

    @classmethod
    def eval(cls, *args):
        return None  # never evaluate on construction: the written form stays as written

    def expand(self, *args):  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def doit(self, **hints):
        args = [a.doit(**hints) if hints.get("deep", True) else a for a in self.args]
        return self.expand(*args)

    def fdiff(self, argindex=1):
        """∂/∂(argument ``argindex``) of the explicit form, so ``d/dx GELU(x)`` can be taken and printed."""
        x = sp.Dummy("x", real=True)
        args = list(self.args)
        at, args[argindex - 1] = args[argindex - 1], x
        return sp.diff(self.expand(*args), x).subs(x, at)


class Row(MatrixOperator):
    """``M[r, :]``: row ``r`` of a matrix expression, kept as written (SymPy's slices print ``M[r:, :]``)."""

    name, latex_name = "row", r"\operatorname{row}"

    @property
    def shape(self):
        return (1, self.args[0].shape[1])

    def expand(self, M, r):
        return sp.ImmutableMatrix(M.row(int(r)))

    def _sympystr(self, printer) -> str:
        return f"{printer.parenthesize(self.args[0], 1000)}[{self.args[1]}, :]"

    def _latex(self, printer, exp=None) -> str:
        return rf"{printer.parenthesize(self.args[0], 1000)}_{{{self.args[1]},\,:}}"

    def _pretty(self, printer):
        form = printer._print(self.args[0])
        if not isinstance(self.args[0], (sp.MatrixSymbol, MatrixOperator)):
            form = prettyForm(*form.parens())
        return prettyForm(*form.right(f"[{self.args[1]}, :]"))


class Perm(MatrixOperator):
    """``perm(π₀, …, π_{n−1})``: the permutation matrix P with (P x)_k = x_{π_k}, written as the order it
    takes the coordinates in (a 6 × 6 matrix of 0s and 1s says less and takes six lines)."""

    name, latex_name = "perm", r"\operatorname{perm}"

    @property
    def shape(self):
        return (len(self.args), len(self.args))

    def expand(self, *order):
        return sp.ImmutableMatrix(len(order), len(order), lambda r, c: int(order[r] == c))


def negate(M):
    """``−M`` kept as written (SymPy's ``-M`` calls ``doit``, which would expand every operator in ``M``)."""
    return sp.MatMul(-1, M, evaluate=False)


# --- softmax and attention ---------------------------------------------------------------------
def row_softmax(S) -> sp.ImmutableMatrix:
    """``exp(s_ij) / Σ_l exp(s_il)`` for every row of an explicit matrix (the definition)."""
    rows = []
    for r in range(S.rows):
        exps = [sp.exp(S[r, c]) for c in range(S.cols)]
        total = sp.Add(*exps)
        rows.append([e / total for e in exps])
    return sp.ImmutableMatrix(rows)


class Softmax(MatrixOperator):
    """``softmax(S)``: row-wise, ``softmax(S)_ij = exp(s_ij) / Σ_l exp(s_il)``."""

    name, latex_name = "softmax", r"\operatorname{softmax}"

    def expand(self, S):
        return row_softmax(S)


class Attn(MatrixOperator):
    """``Attn(Q, K, V) = softmax(Q Kᵀ / √d_k) V`` (scaled dot-product attention, one head)."""

    name, latex_name = "Attn", r"\operatorname{Attn}"

    @property
    def shape(self):
        return (self.args[0].shape[0], self.args[2].shape[1])

    def expand(self, Q, K, V):
        return row_softmax(Q * K.T / sp.sqrt(Q.cols)) * V


class SelfAttn(MatrixOperator):
    """``Attn(X) = softmax(X W_Q (X W_K)ᵀ / √d_k) X W_V``: self-attention of the rows of ``X``; the
    projections are parameters, printed only as ``Attn(X)``."""

    name, latex_name, shown = "Attn", r"\operatorname{Attn}", 1

    @property
    def shape(self):
        return (self.args[0].shape[0], self.args[3].shape[1])

    def expand(self, X, WQ, WK, WV):
        return Attn(X * WQ, X * WK, X * WV).doit()
