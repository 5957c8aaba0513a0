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
    dev = np.where(np.isnan(dev), np.inf, dev)
    if not dev.size or float(dev.max()) <= tol:
        return None
    with np.errstate(all="ignore"):
        sums = np.broadcast_to(p.sum(axis=axis), dev.shape)
    total = sums.flat[int(np.argmax(dev))]  # the row farthest from 1, as it really sums
    return f"rows do not sum to 1 (one sums to {total:.4g})"


def summing_axes(p: np.ndarray, tol: float) -> list[int]:
    """The axes along which every row of ``p`` sums to 1 (as non-negative axis numbers)."""
    found = []
    for axis in range(p.ndim):
        with np.errstate(all="ignore"):
            if p.shape[axis] > 1 and np.all(np.abs(p.sum(axis=axis) - 1.0) <= tol):
                found.append(axis)
    return found


def fit_scale(scores: np.ndarray, p: np.ndarray, allowed=None) -> float | None:
    """The factor ``t`` for which ``p ≈ softmax(t · scores)`` along the last axis, by least squares on
    ``log p``: within a row ``log pⱼ = t·sⱼ − logsumexp``, so after removing row means the logs are
    ``t`` times the centred scores. Only entries with ``allowed`` set (default: all) and a positive
    finite weight take part. ``None`` when no row has two distinct usable scores."""
    with np.errstate(all="ignore"):
        logp = np.log(p)
    use = np.isfinite(logp) & np.isfinite(scores)
    if allowed is not None:
        use &= np.broadcast_to(allowed, use.shape)
    count = np.maximum(use.sum(axis=-1, keepdims=True), 1)
    s = np.where(use, scores, 0.0)
    lp = np.where(use, logp, 0.0)
    s = np.where(use, s - s.sum(axis=-1, keepdims=True) / count, 0.0)
    lp = np.where(use, lp - lp.sum(axis=-1, keepdims=True) / count, 0.0)
    denominator = float(np.sum(s * s))
    return float(np.sum(s * lp) / denominator) if denominator > 1e-12 else None


def name_factor(t: float, candidates: dict[str, float], tol: float = 0.02) -> str:
    """``t`` named after the closest candidate (e.g. ``"1/d_k = 0.25"``) or as a plain number."""
    for label, value in candidates.items():
        if abs(t - value) <= tol * abs(value):
            return f"{label} = {value:.4g}"
    return f"{t:.4g}"
