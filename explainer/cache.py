"""A small on-disk cache of check reports, so ``explainer show`` prints statuses without re-proving.

A report is stored under a key made of the derivation's exact content (``srepr`` of every step and
its check), the SymPy version and the source of the checker itself: change any of them and the report
is computed afresh. An entry is used only when it holds one well-formed result for every checked item
of the derivation, in order (one edited, truncated or emptied by hand is recomputed and rewritten).
``explainer check`` never reads the cache; ``show`` says when a report came from it.
The directory is ``$EXPLAINER_CACHE_DIR``, else ``$XDG_CACHE_HOME/transformer-math-explainer``, else
``~/.cache/transformer-math-explainer``; set ``EXPLAINER_CACHE_DIR=off`` to disable it. A cache folder
that cannot be created or written is skipped (it only ever saves time) with one warning that says how to
fix it.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

import sympy as sp

from explainer import check as checker
from explainer.check import Report, StepResult


def directory() -> Path | None:
    """Where reports are cached, or None when caching is off."""
    configured = os.environ.get("EXPLAINER_CACHE_DIR")
    if configured == "off":
        return None
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "transformer-math-explainer"


def key(derivation) -> str:
    """SHA-256 of the derivation's content, the SymPy version and the checker's source."""
    h = hashlib.sha256()
    h.update(Path(checker.__file__).read_bytes())
    h.update(sp.__version__.encode())
    h.update(derivation.name.encode())
    for section, number, step in derivation.all_steps():
        h.update(f"{section}{number}{step.rel}{step.check}".encode())
        h.update(sp.srepr(step.lhs).encode() + b"\0" + sp.srepr(step.rhs).encode())
    return h.hexdigest()


def cached_check(derivation) -> tuple[Report, bool]:
    """``(report, from_cache)``: the stored report for this exact derivation, or a fresh check (then stored)."""
    folder = directory()
    path = folder / f"{key(derivation)}.json" if folder else None
    if path is not None:
        results = _read(path, derivation)
        if results is not None:
            return Report(derivation.name, results[0], results[1], cached=True), True
    report = checker.check(derivation)
    if path is not None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"seconds": report.seconds, "results": [asdict(r) for r in report.results]}))
            tmp.replace(path)
        except OSError as exc:
            print(f"warning: cannot use the check cache {str(folder)!r} ({exc.strerror or exc}); statuses are "
                  "computed afresh each time. Set EXPLAINER_CACHE_DIR to a writable folder, or to 'off'.",
                  file=sys.stderr)
    return report, False


def _read(path: Path, derivation) -> tuple[tuple[StepResult, ...], float] | None:
    """The entry's results and seconds when it matches ``derivation`` item by item, else None."""
    try:
        data = json.loads(path.read_text())
        results = tuple(StepResult(**r) for r in data["results"])
        seconds = float(data["seconds"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    expected = [(section, number) for section, number, _ in derivation.all_steps()]
    if [(r.section, r.number) for r in results] != expected:
        return None
    if not all(r.status in checker.STATUSES and isinstance(r.detail, str) for r in results):
        return None
    return results, seconds


__all__ = ["cached_check", "directory", "key"]
