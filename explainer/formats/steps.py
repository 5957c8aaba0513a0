"""What every printer shares: the sections of a derivation, with each step's check result."""
from __future__ import annotations

from dataclasses import dataclass

from explainer.model import Derivation, Step


@dataclass(frozen=True, slots=True)
class Line:
    """A step ready to print: its section, number, the step itself and its check result (or None)."""

    section: str
    number: int
    step: Step
    result: object = None


def sections(d: Derivation, report=None) -> dict[str, list[Line]]:
    """``{"step": [...], "result": [...], "example": [...]}`` with results attached from ``report``."""
    found = {(r.section, r.number): r for r in report.results} if report else {}
    out: dict[str, list[Line]] = {"step": [], "result": [], "example": []}
    for section, number, step in d.all_steps():
        out[section].append(Line(section, number, step, found.get((section, number))))
    return out


def status_text(result) -> str:
    """``proved (SymPy: expand)`` or ``checked numerically (…)``; empty when not checked."""
    if result is None:
        return ""
    if result.status == "assumed":
        return "assumed"
    return f"{result.status} ({result.detail})"
