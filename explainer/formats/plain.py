"""Plain-text and unicode printers (``explainer show NAME --format text|unicode``).

Text uses SymPy's one-line ``sstr``; unicode uses SymPy's two-dimensional pretty printer.
"""
from __future__ import annotations

import textwrap

import sympy as sp
from sympy.printing.pretty.pretty import PrettyPrinter
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
            shape = f"  [{s.shape}]" if s.shape else ""
            out.append(f"  {_expr(s.symbol, False):<12} {s.meaning}{shape}")
        out.append("")
    if d.assumptions:
        out += ["Assumptions"] + [f"  - {a}" for a in d.assumptions] + [""]
    parts = sections(d, report)
    out += ["Steps"] + _lines(parts["step"], unicode) + [""]
    out += ["Result"] + _lines(parts["result"], unicode) + [""]
    if parts["example"]:
        out += [f"Worked example{': ' + d.example_title if d.example_title else ''}"]
        out += _lines(parts["example"], unicode) + [""]
    out += [f"Note: {n}" for n in d.notes]
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
        note = line.step.why
        status = status_text(line.result)
        out += [" " * len(prefix) + w for w in textwrap.wrap(f"— {note}", WIDTH - len(prefix))]
        if status:
            out += [" " * len(prefix) + w for w in textwrap.wrap(f"[{status}]", WIDTH - len(prefix))]
    return out


def relation(lhs, rel: str, rhs, unicode: bool) -> str:
    """``lhs rel rhs`` (or ``rel rhs`` for a chain link) as one or more lines."""
    if not unicode:
        left = f"{_expr(lhs, False)} " if lhs is not None else "    "
        return f"{left}{rel} {_expr(rhs, False)}"
    printer = PrettyPrinter({"use_unicode": True, "wrap_line": False})
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


def _expr(e, unicode: bool) -> str:
    return sp.pretty(e, use_unicode=True) if unicode else text(e)
