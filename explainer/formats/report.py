"""Check reports as a per-step table (``explainer check``) or JSON (``--json``)."""
from __future__ import annotations

import json
from collections import Counter

from explainer.formats.jsonfmt import SCHEMA_VERSION


def report_table(reports) -> str:
    """One row per step: derivation, step, status, detail; then one summary line per derivation."""
    rows = [(r.name, res.label, res.status, res.detail) for r in reports for res in r.results]
    w0 = max([len("derivation")] + [len(x[0]) for x in rows])
    w1 = max([len("step")] + [len(x[1]) for x in rows])
    w2 = max([len("status")] + [len(x[2]) for x in rows])
    out = [f"{'derivation':<{w0}}  {'step':<{w1}}  {'status':<{w2}}  detail"]
    out.append("-" * (w0 + w1 + w2 + 14))
    out += [f"{a:<{w0}}  {b:<{w1}}  {c:<{w2}}  {d}" for a, b, c, d in rows]
    out.append("")
    for r in reports:
        counts = Counter(res.status for res in r.results)
        summary = ", ".join(f"{n} {s}" for s, n in counts.items())
        out.append(f"{'ok  ' if r.ok else 'FAIL'} {r.name}: {summary} ({r.seconds:.2f} s)")
    total = sum(r.seconds for r in reports)
    failed = sum(not r.ok for r in reports)
    noun = "derivation" if len(reports) == 1 else "derivations"
    out.append(f"{len(reports)} {noun} checked, {failed} failed, in {total:.1f} s")
    return "\n".join(out) + "\n"


def report_json(reports) -> str:
    """``{"schema_version", "ok", "derivations": [{name, ok, seconds, steps: [...]}]}``."""
    return json.dumps({
        "schema_version": SCHEMA_VERSION,
        "ok": all(r.ok for r in reports),
        "derivations": [{
            "name": r.name, "ok": r.ok, "seconds": round(r.seconds, 4),
            "steps": [{"section": s.section, "number": s.number, "status": s.status, "detail": s.detail,
                       "points": s.points, "max_diff": s.max_diff} for s in r.results],
        } for r in reports],
    }, indent=2, ensure_ascii=False) + "\n"
