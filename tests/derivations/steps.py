"""Helpers shared by the derivation tests."""
from __future__ import annotations


def step_index(d, text: str) -> int:
    """0-based index of the first step of ``d`` whose justification contains ``text``."""
    return next(n for n, s in enumerate(d.steps) if text in s.why)
