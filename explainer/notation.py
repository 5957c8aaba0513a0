"""Notation helpers for derivations: names that print as a reader expects in every format."""
from __future__ import annotations

import sympy as sp

_LATEX: dict[str, str] = {}


class Named(sp.Symbol):
    """A scalar symbol with its own LaTeX, e.g. ``Named("q·k", r"\\mathbf{q}\\cdot\\mathbf{k}")``.

    Plain text and unicode print the name itself; a definition (``explainer.model.define``) gives it a
    meaning that the checker substitutes in later steps.
    """

    def __new__(cls, name: str, latex: str | None = None, **assumptions):
        if latex is not None:
            _LATEX[name] = latex
        return super().__new__(cls, name, **assumptions)

    def _latex(self, printer) -> str:
        return _LATEX.get(self.name, self.name)

    @property
    def compound(self) -> bool:
        """True when the name reads as an operation (``q·k``), so a power or product needs parentheses."""
        return any(op in self.name for op in ("·", "+", "-", "/", " "))


def needs_parentheses(e) -> bool:
    """Whether ``e`` is a compound :class:`Named` symbol."""
    return isinstance(e, Named) and e.compound
