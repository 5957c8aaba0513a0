"""Probes shared by the specs: what a row-wise softmax must satisfy, tested on a user's numbers.

Each function returns a sentence naming the violated property, or ``None`` when it holds.
"""
from __future__ import annotations

import numpy as np


def rows_sum_to_one(p: np.ndarray, tol: float, axis: int = -1, valid=None) -> str | None:
    """Weights along ``axis`` must sum to 1 (softmax's defining property); ``valid`` marks rows to check
    (a boolean array of ``p``'s shape without ``axis``)."""
    with np.errstate(all="ignore"):
        dev = np.abs(p.sum(axis=axis) - 1.0)
    if valid is not None:
        dev = np.where(valid, dev, 0.0)
    worst = float(np.nanmax(np.where(np.isnan(dev), np.inf, dev))) if dev.size else 0.0
    if worst <= tol:
        return None
    return f"rows do not sum to 1 (a row sums to {1 + worst if np.isfinite(worst) else 'NaN'} at worst)"


def summing_axes(p: np.ndarray, tol: float) -> list[int]:
    """The axes along which every row of ``p`` sums to 1 (as non-negative axis numbers)."""
    found = []
    for axis in range(p.ndim):
        with np.errstate(all="ignore"):
            if p.shape[axis] > 1 and np.all(np.abs(p.sum(axis=axis) - 1.0) <= tol):
                found.append(axis)
    return found


def fit_scale(scores: np.ndarray, p: np.ndarray, valid=None) -> float | None:
    """The factor ``t`` for which ``p ≈ softmax(t · scores)`` along the last axis, by least squares on
    ``log p``: within a row ``log pⱼ = t·sⱼ − logsumexp``, so after removing row means the logs are
    ``t`` times the centred scores. ``None`` when no row has two distinct scores and positive weights."""
    with np.errstate(all="ignore"):
        logp = np.log(p)
    ok = np.all(np.isfinite(logp), axis=-1) & np.all(np.isfinite(scores), axis=-1)
    if valid is not None:
        ok &= valid
    if not ok.any():
        return None
    s = scores[ok] - scores[ok].mean(axis=-1, keepdims=True)
    lp = logp[ok] - logp[ok].mean(axis=-1, keepdims=True)
    denominator = float(np.sum(s * s))
    return float(np.sum(s * lp) / denominator) if denominator > 1e-12 else None


def name_factor(t: float, candidates: dict[str, float], tol: float = 0.02) -> str:
    """``t`` named after the closest candidate (e.g. ``"1/d_k = 0.25"``) or as a plain number."""
    for label, value in candidates.items():
        if abs(t - value) <= tol * abs(value):
            return f"{label} = {value:.4g}"
    return f"{t:.4g}"
