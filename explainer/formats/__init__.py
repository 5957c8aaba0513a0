"""Printers: the same derivation as plain text, unicode, LaTeX, Markdown or JSON.

Each printer is a sibling module with one ``render(derivation, report)`` function; words about the
math live here, never in the derivations.
"""
from __future__ import annotations

from importlib import import_module

FORMATS = ("text", "unicode", "latex", "markdown", "json")
_MODULES = {"text": "plain", "unicode": "plain", "latex": "latex", "markdown": "markdown", "json": "jsonfmt"}


def render(derivation, fmt: str = "text", report=None) -> str:
    """``derivation`` in format ``fmt``; with a check ``report`` each step shows its status."""
    if fmt not in FORMATS:
        from explainer.errors import UsageError

        raise UsageError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    module = import_module(f"explainer.formats.{_MODULES[fmt]}")
    if fmt in ("text", "unicode"):
        return module.render(derivation, report, unicode=fmt == "unicode")
    return module.render(derivation, report)
