"""JSON printer. The schema (``explainer/schema/derivation.schema.json``) is versioned; keys are stable.

Expressions appear three ways: ``text`` (SymPy's one-line ``sstr``), ``latex`` and ``srepr`` (exact structure,
for programs). ``status`` is ``null`` when the derivation was printed with ``--no-check``.
"""
from __future__ import annotations

import json

import sympy as sp

from explainer.formats.latex import latex
from explainer.formats.plain import text
from explainer.formats.steps import sections

SCHEMA_VERSION = "1.1"


def expression(e) -> dict | None:
    if e is None:
        return None
    return {"text": text(e), "latex": latex(e), "srepr": sp.srepr(e)}


def step_json(line) -> dict:
    s, r = line.step, line.result
    status = None
    if r is not None:
        status = {"status": r.status, "detail": r.detail, "points": r.points,
                  "max_diff": r.max_diff, "seconds": round(r.seconds, 6)}
    return {"number": line.number, "lhs": expression(s.lhs), "relation": s.rel, "rhs": expression(s.rhs),
            "justification": s.why,
            "where": [{"name": expression(k), "value": expression(v)} for k, v in s.where],
            "check": {"kind": s.check.kind, "methods": list(s.check.methods)},
            "status": status}


def as_dict(d, report=None) -> dict:
    parts = sections(d, report)
    return {
        "schema_version": SCHEMA_VERSION,
        "name": d.name,
        "title": d.title,
        "topic": d.topic,
        "summary": d.summary,
        "symbols": [{"symbol": expression(s.symbol), "meaning": s.meaning, "shape": s.shape} for s in d.symbols],
        "assumptions": list(d.assumptions),
        "steps": [step_json(line) for line in parts["step"]],
        "result": step_json(parts["result"][0]),
        "example": {"title": d.example_title, "steps": [step_json(line) for line in parts["example"]]},
        "notes": list(d.notes),
        "checked": report is not None,
        "ok": report.ok if report is not None else None,
        "cached": report.cached if report is not None else None,
    }


def render(d, report=None) -> str:
    return json.dumps(as_dict(d, report), indent=2, ensure_ascii=False) + "\n"
