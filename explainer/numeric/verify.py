"""``explainer verify``: run the checks of the chosen derivations and tabulate the results."""
from __future__ import annotations

import json
import time

from explainer.numeric.compare import FAILED, SKIPPED, Result


def choose(names, all_: bool) -> list[str]:
    """The derivations to verify: ``--all`` is every registered one plus every one the engine has checks
    for (a derivation not written yet then shows as "no closed form yet"). An unknown name raises
    UsageError with suggestions (exit 2) before any work."""
    from explainer import registry
    from explainer.numeric.checks import CHECKS

    registered = [e.name for e in registry.entries()]
    chosen = list(dict.fromkeys(names))
    # checked with --all too: a misspelt name is an error, never silently ignored (each one reported)
    registry.get_all([name for name in chosen if name not in CHECKS])
    if all_:
        return registered + [n for n in CHECKS if n not in registered]
    return chosen


def verify(names: list[str], ctx) -> list[Result]:
    """Every check of every named derivation, in order; a derivation without a numeric check gets one
    honest "skipped" row."""
    from explainer.numeric.checks import CHECKS

    from explainer.distributed import DERIVATIONS as SHARDED

    results: list[Result] = []
    for name in names:
        if name not in CHECKS:
            why = (f"checked across processes: explainer verify {name} --world-size 2" if name in SHARDED
                   else "no numeric check: nothing in the reference run computes this")
            results.append(Result(name, "-", ctx.info[0], ctx.info[1], None, None, "-", SKIPPED, why))
            continue
        for fn in CHECKS[name]:
            results.extend(fn(ctx))
    return results


def ok(results: list[Result]) -> bool:
    return not any(r.status == FAILED for r in results)


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.2e}"


COLUMNS = ("derivation", "check", "device", "dtype", "max abs err", "max rel err", "tolerance", "status")


def table(results: list[Result], header: str = "") -> str:
    """The results as an aligned text table, notes under the rows that have them, and a summary."""
    cells = [(r.derivation, r.check, r.device, r.dtype, _num(r.max_abs), _num(r.max_rel), r.tolerance, r.status)
             for r in results]
    widths = [max(len(c[i]) for c in [COLUMNS, *cells]) for i in range(len(COLUMNS))]
    line = lambda row: "  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip()  # noqa: E731
    out = [header] if header else []
    out += [line(COLUMNS), "-" * (sum(widths) + 2 * (len(widths) - 1))]
    for r, row in zip(results, cells):
        out.append(line(row))
        if r.notes:
            out.append(" " * (widths[0] + 2) + "↳ " + r.notes)
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status] = counts.get(r.status, 0) + 1
    out.append("")
    out.append(", ".join(f"{n} {s}" for s, n in counts.items()) or "no checks")
    return "\n".join(out) + "\n"


def as_json(results: list[Result], meta: dict) -> str:
    return json.dumps({**meta, "ok": ok(results), "results": [r.as_dict() for r in results]},
                      indent=2, ensure_ascii=False) + "\n"


def timed(fn, *args):
    start = time.perf_counter()
    value = fn(*args)
    return value, time.perf_counter() - start
