"""Plain-text and unicode printers (``explainer show NAME --format text|unicode``).

Both print formulas in two dimensions with SymPy's pretty printer: unicode with its box-drawing
characters, text in plain ASCII (no ``Sum(``, ``Matrix([``: sums, fractions and matrices are drawn).
A step's ``where`` names follow it on lines of their own. :func:`text` is the one-line form (JSON).
"""
from __future__ import annotations

import textwrap

import sympy as sp
from sympy.printing.pretty.pretty import PrettyPrinter
from sympy.printing.pretty.pretty_symbology import pretty_use_unicode
from sympy.printing.pretty.stringpict import prettyForm
from sympy.printing.str import StrPrinter

from explainer.notation import needs_parentheses

from explainer.formats.steps import sections, status_text

ASCII_REL = {"=": "=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
UNICODE_REL = {"=": "=", "<": "<", "<=": "≤", ">": ">", ">=": "≥"}
WIDTH = 100


def render(d, report=None, unicode: bool = False) -> str:
    """The whole derivation as text."""
    out = [f"{d.title}  [{d.name} · {d.topic}]", "=" * min(WIDTH, len(d.title) + len(d.name) + len(d.topic) + 7), ""]
    out += textwrap.wrap(d.summary, WIDTH) + [""]
    if d.symbols:
        out.append("Symbols")
        for s in d.symbols:
            shape = f"  [{s.shape}]".replace(" × ", "\u00a0×\u00a0") if s.shape else ""  # a shape never breaks
            out += textwrap.wrap(f"{_expr(s.symbol, False):<12} {s.meaning}{shape}", WIDTH,
                                 initial_indent="  ", subsequent_indent=" " * 15)
        out.append("")
    if d.assumptions:
        out.append("Assumptions")
        out += [w for a in d.assumptions for w in textwrap.wrap(a, WIDTH, initial_indent="  - ", subsequent_indent="    ")]
        out.append("")
    parts = sections(d, report)
    out += ["Steps"] + _lines(parts["step"], unicode) + [""]
    out += ["Result"] + _lines(parts["result"], unicode) + [""]
    if parts["example"]:
        out += [f"Worked example{': ' + d.example_title if d.example_title else ''}"]
        out += _lines(parts["example"], unicode) + [""]
    out += [w for n in d.notes for w in textwrap.wrap(f"Note: {n}", WIDTH, subsequent_indent="      ")]
    if report is not None:
        counts = {}
        for r in report.results:
            counts[r.status] = counts.get(r.status, 0) + 1
        when = "result of an earlier identical check, " if report.cached else ""
        out.append("Check: " + ", ".join(f"{v} {k}" for k, v in counts.items()) + f" ({when}{report.seconds:.2f} s)")
    return "\n".join(out).rstrip() + "\n"


def _lines(lines, unicode: bool) -> list[str]:
    out = []
    for line in lines:
        rel = (UNICODE_REL if unicode else ASCII_REL)[line.step.rel]
        body = relation(line.step.lhs, rel, line.step.rhs, unicode)
        prefix = f"  {line.number:>2}. "
        body_lines = body.splitlines() or [""]
        out += [prefix + body_lines[0]] + [" " * len(prefix) + b for b in body_lines[1:]]
        for k, (name, value) in enumerate(line.step.where):
            head = "where " if k == 0 else "  and "
            where = relation(name, "=", value, unicode).splitlines() or [""]
            base = _baseline(name, value, unicode)
            out += [" " * len(prefix) + (head if n == base else " " * len(head)) + w for n, w in enumerate(where)]
        note = line.step.why
        status = status_text(line.result)
        out += [" " * len(prefix) + w for w in textwrap.wrap(f"— {note}", WIDTH - len(prefix))]
        if status:
            out += [" " * len(prefix) + w for w in textwrap.wrap(f"[{status}]", WIDTH - len(prefix))]
    return out


def split_sign(term) -> tuple[bool, object]:
    """``(True, M)`` for a term written ``−M`` (``MatMul(-1, M)``), else ``(False, term)``."""
    if isinstance(term, sp.MatMul) and term.args[0] == -1:
        rest = term.args[1:]
        return True, rest[0] if len(rest) == 1 else sp.MatMul(*rest, evaluate=False)
    return False, term


class _PrettyPrinter(PrettyPrinter):
    """SymPy's 2-D printer, keeping the grouping an author wrote: ``(P⋅X)⋅W``, not ``P⋅X⋅W``."""

    def _print_MatMul(self, expr):
        grouped = (sp.MatMul, sp.MatAdd, sp.HadamardProduct)
        forms = [prettyForm(*self._print(a).parens()) if isinstance(a, grouped) else self._print(a)
                 for a in expr.args]
        return prettyForm.__mul__(*forms) if len(forms) > 1 else forms[0]


    def _print_MatAdd(self, expr):
        """Terms in the order written; ``−`` for a negated term (``S − M``, not ``S -M``)."""
        form = None
        for term in expr.args:
            negative, term = split_sign(term)
            piece = self._print(term)
            if isinstance(term, sp.MatAdd):
                piece = prettyForm(*piece.parens())
            if form is None:
                form = prettyForm(*prettyForm("-").right(piece)) if negative else piece
            else:
                form = prettyForm(*form.right(" - " if negative else " + ", piece))
        return form

    def _print_Pow(self, power):
        """``(q·k)²``: a compound name raised to a whole power keeps its parentheses (else ``q·k²``)."""
        base, exp = power.as_base_exp()
        if needs_parentheses(base) and exp.is_Integer and exp > 1:
            return prettyForm(*self._print(base).parens()) ** self._print(exp)
        return super()._print_Pow(power)

    def _print_MatrixElement(self, expr):
        if isinstance(expr.parent, sp.MatrixSymbol) and not (expr.i.is_number and expr.j.is_number):
            return prettyForm(*self._print(expr.parent).right(f"[{expr.i}, {expr.j}]"))
        return super()._print_MatrixElement(expr)


def _pretty_printer(unicode: bool):
    """The 2-D printer; SymPy's glyph tables follow a global switch, set here for this printer's use."""
    pretty_use_unicode(unicode)
    return _PrettyPrinter({"use_unicode": unicode, "wrap_line": False})


def relation(lhs, rel: str, rhs, unicode: bool) -> str:
    """``lhs rel rhs`` (or ``rel rhs`` for a chain link) as one or more lines, drawn in two dimensions
    (unicode, or plain ASCII when ``unicode`` is false)."""
    printer = _pretty_printer(unicode)
    right = printer._print(sp.sympify(rhs))
    op = prettyForm(f" {rel} ")
    form = prettyForm(*op.right(right)) if lhs is None else prettyForm(*printer._print(sp.sympify(lhs)).right(op, right))
    if lhs is None:
        form = prettyForm(*prettyForm("  ").right(form))
    return form.render(wrap_line=False)


class _StrPrinter(StrPrinter):
    """SymPy's one-line printer, with parentheses around compound names such as q·k."""

    def parenthesize(self, item, level, strict=False):
        if needs_parentheses(item):
            return f"({self._print(item)})"
        return super().parenthesize(item, level, strict)


def text(e) -> str:
    """``e`` on one line, as SymPy's ``sstr`` prints it (compound names parenthesised)."""
    return _StrPrinter().doprint(e)


def _baseline(name, value, unicode: bool) -> int:
    """The line of ``name = value`` (as drawn) that carries the ``=``."""
    printer = _pretty_printer(unicode)
    forms = [printer._print(sp.sympify(e)) for e in (name, value)]
    return max(f.baseline for f in forms)


def _expr(e, unicode: bool) -> str:
    return sp.pretty(e, use_unicode=True) if unicode else text(e)
