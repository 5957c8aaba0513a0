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
from sympy.matrices.expressions.matexpr import MatrixExpr
from sympy.printing.pretty.stringpict import prettyForm


def explicit(M):
    """``M`` with its operators expanded, as an explicit matrix when its shape is concrete."""
    M = sp.sympify(M).doit()
    if isinstance(M, MatrixExpr) and not isinstance(M, sp.MatrixBase):
        M = M.as_explicit()
    return sp.ImmutableMatrix(M) if isinstance(M, sp.MatrixBase) else M


class _Printing:
    """Printing shared by both kinds: ``name(a, b)`` in text, unicode and LaTeX."""

    name = "op"
    latex_name = r"\operatorname{op}"

    def _sympystr(self, printer) -> str:
        return f"{self.name}({', '.join(printer._print(a) for a in self.args)})"

    def _latex(self, printer, exp=None) -> str:
        inner = ", ".join(printer._print(a) for a in self.args)
        head = self.latex_name if exp is None else f"{self.latex_name}^{{{exp}}}"
        return rf"{head}\left({inner}\right)"

    def _pretty(self, printer):
        args = [printer._print(a) for a in self.args]
        form = args[0]
        for a in args[1:]:
            form = prettyForm(*form.right(", ", a))
        form = prettyForm(*form.parens())
        return prettyForm(*prettyForm(self.name).right(form), binding=prettyForm.FUNC)


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
