"""``scaled-dot-product-attention``: ``fn(q, k, v)`` and ``fn(q, k, v, mask)`` against
Attention(Q, K, V) = softmax(QKᵀ/√d_k + M) V.

``q`` (..., n, d_k), ``k`` (..., m, d_k), ``v`` (..., m, d_v); ``mask`` boolean, broadcastable to
(..., n, m), ``True`` where a query may attend to a key (as ``F.scaled_dot_product_attention``), passed
as the fourth positional argument. The expected values come from the ``scaled-dot-product-attention``
closed form (no mask) and the ``attention-masks`` one (M = 0 where allowed, −∞ where masked), one
(batch, head) slice at a time. A query row whose keys are all masked is 0/0 in the derivation: it is
left out of the comparison, and a failure message says how many rows were left out.
"""
from __future__ import annotations

import math
from typing import Callable, Iterator

import numpy as np
import torch

from explainer.testing import probes
from explainer.testing.core import Case, Options, Spec, close, closed_form, probe_tolerance, to_numpy

#: (m, d_k, d_v): keys, key width, value width. The closed form is explicit, entry by entry, so it is
#: built for one query row (n = 1) and applied to every row; the number of queries n varies freely.
SIZES = ((3, 4, 2), (4, 2, 3), (2, 3, 5), (1, 2, 2))
QUERIES = (4, 1, 6, 3, 5)
#: batch shapes (batch, heads) in front of the last two axes.
BATCHES = ((), (2,), (2, 3), (3, 2), (1, 4))
MASK_KINDS = ("causal", "padding", "random with a fully masked row")


def attention_reference(q: np.ndarray, k: np.ndarray, v: np.ndarray, allowed: np.ndarray | None,
                        label: str = "output") -> np.ndarray:
    """The derivation's closed form on every (batch, head) slice and query row: (..., n, d_v) for
    ``"output"``, (..., n, m) for ``"weights"`` (``v`` is then ignored). ``allowed`` (..., n, m) or
    ``None``; without a mask the ``scaled-dot-product-attention`` closed form is used, with one the
    ``attention-masks`` closed form with M = 0 where allowed and −∞ where masked."""
    n, d_k, m, d_v = q.shape[-2], q.shape[-1], k.shape[-2], v.shape[-1]
    shapes = [q.shape[:-2], k.shape[:-2], v.shape[:-2]] + ([allowed.shape[:-2]] if allowed is not None else [])
    batch = np.broadcast_shapes(*shapes)
    q, k, v = (np.broadcast_to(t, batch + t.shape[-2:]) for t in (q, k, v))
    name = "scaled-dot-product-attention" if allowed is None else "attention-masks"
    f = closed_form(name, label, n=1, m=m, d_k=d_k, d_v=d_v)
    additive = None if allowed is None else np.where(np.broadcast_to(allowed, batch + (n, m)), 0.0, -np.inf)
    out = np.empty(batch + (n, d_v if label == "output" else m))
    for index in np.ndindex(*batch):
        for i in range(n):
            args = (q[index][i:i + 1], k[index]) + ((v[index],) if label == "output" else ())
            if additive is not None:
                args += (additive[index][i:i + 1],)
            out[index + (i,)] = f(*args)[0]
    return out


def defined_rows(allowed: np.ndarray | None, shape: tuple) -> np.ndarray | None:
    """Rows (…, n, 1) the derivation defines: a query with at least one allowed key."""
    if allowed is None:
        return None
    return np.broadcast_to(allowed.any(axis=-1, keepdims=True), shape[:-1] + (1,))


def excluded_note(allowed: np.ndarray | None, batch: tuple) -> str:
    if allowed is None:
        return ""
    rows = np.broadcast_to(allowed, batch + allowed.shape[-2:]).any(axis=-1)
    empty = int((~rows).sum())
    if not empty:
        return ""
    return (f"{empty} of {rows.size} query rows have every key masked; the derivation leaves them undefined "
            f"(softmax of all −∞ is 0/0), so they were left out of the comparison")


def random_mask(rng: np.random.Generator, kind: str, batch: tuple, n: int, m: int) -> np.ndarray:
    """A boolean mask, ``True`` = may attend: causal (n, m), key padding (B, 1, 1, m) or random with
    query row 0 fully masked."""
    if kind == "causal":  # top-left aligned, as F.scaled_dot_product_attention(is_causal=True)
        return np.tril(np.ones((n, m), bool))
    if kind == "padding":
        lengths = rng.integers(1, m + 1, size=batch[:1] or (1,))
        return (np.arange(m) < lengths[:, None]).reshape(batch[:1] + (1,) * (len(batch) - 1) + (1, m))
    mask = rng.random(batch[:1] + (1,) * (len(batch) - 1) + (n, m)) < 0.7
    mask[..., 0, :] = n == 1  # a fully masked row (kept defined when it is the only row)
    return mask


class AttentionSpec(Spec):
    name = "scaled-dot-product-attention"
    signature = "fn(q, k, v) and fn(q, k, v, mask) with mask True where attention is allowed"

    def cases(self, seed: int, dtype: torch.dtype, options: Options) -> Iterator[Case]:
        rng = np.random.default_rng([seed, 29])
        kinds = [None, None, None] + (list(MASK_KINDS) if options.masks else [])
        for i, kind in enumerate(kinds):
            m, d_k, d_v = SIZES[(seed + i) % len(SIZES)]
            n = QUERIES[(seed + 3 * i) % len(QUERIES)]
            batch = BATCHES[(seed + 2 * i) % len(BATCHES)] if kind is None else BATCHES[2 + (seed + i) % 3]
            arrays = {"q": rng.normal(size=batch + (n, d_k)), "k": rng.normal(size=batch + (m, d_k)),
                      "v": rng.normal(size=batch + (m, d_v))}
            inputs = {key: torch.tensor(a, dtype=dtype, device=options.device) for key, a in arrays.items()}
            text = ", ".join(f"{key} {tuple(t.shape)}" for key, t in inputs.items())
            if kind is not None:
                mask = random_mask(rng, kind, batch, n, m)
                inputs["mask"] = torch.tensor(mask, device=options.device)
                text += f", {kind} mask {tuple(mask.shape)}"
            yield Case(seed, dtype, text + ("" if kind else ", no mask"), inputs, {"kind": kind})

    def call(self, fn: Callable, case: Case, **replace) -> np.ndarray:
        inputs = {**case.inputs, **replace}
        args = [inputs["q"], inputs["k"], inputs["v"]] + ([inputs["mask"]] if "mask" in inputs else [])
        return to_numpy(fn(*args))

    def expected(self, case: Case, scale: float = 1.0):
        q, k, v = (to_numpy(case.inputs[key]) for key in "qkv")
        allowed = to_numpy(case.inputs["mask"]).astype(bool) if "mask" in case.inputs else None
        values = attention_reference(q * scale, k, v, allowed)
        batch = values.shape[:-2]
        return values, defined_rows(allowed, values.shape), excluded_note(allowed, batch)

    def diagnose(self, fn: Callable, case: Case, options: Options) -> str | None:
        tol = probe_tolerance(case.dtype)
        q, k, v = (case.inputs[key] for key in "qkv")
        m, d_k = k.shape[-2], q.shape[-1]
        allowed = to_numpy(case.inputs["mask"]).astype(bool) if "mask" in case.inputs else None
        try:  # with V = I (m × m) the output is the attention-weight matrix itself
            eye = torch.eye(m, dtype=v.dtype, device=v.device).expand(v.shape[:-2] + (m, m))
            weights = self.call(fn, case, v=eye)                                   # (..., n, m)
        except Exception:
            weights = None
        if weights is not None and weights.shape[-1] == m:
            found = self._weights(weights, allowed, tol)
            if found:
                return found
        found = self._shift(fn, case, tol)
        if found or weights is None:
            return found
        return self._scale(fn, case, weights, allowed, d_k, v.shape[-1], tol)

    def _weights(self, w: np.ndarray, allowed: np.ndarray | None, tol: float) -> str | None:
        """Mask and normalisation, read off the weights."""
        rows = None
        if allowed is not None:
            allowed = np.broadcast_to(allowed, w.shape)
            rows = allowed.any(axis=-1)
            if np.all(np.where(allowed & rows[..., None], np.abs(w), 0.0) <= tol):
                return ("mask not respected: every key the mask allows gets weight 0 — the mask looks inverted: "
                        "True must mean 'may attend' (as in F.scaled_dot_product_attention), not 'masked' "
                        "(as in nn.MultiheadAttention's attn_mask)")
            leaked = np.where(~allowed & rows[..., None], np.abs(w), 0.0)
            if leaked.max() > tol:
                where = tuple(int(i) for i in np.unravel_index(int(np.argmax(leaked)), w.shape))
                return (f"mask not respected: query {where[-2]} gives weight {w[where]:.4g} to key {where[-1]}, "
                        f"which the mask forbids (True must mean 'may attend'; batch index {where[:-2]})")
        problem = probes.rows_sum_to_one(w, tol, valid=rows)
        if problem is None:
            return None
        if allowed is not None:
            return (f"{problem} although masked weights are 0: the mask seems applied after softmax; the "
                    f"derivation adds −∞ to masked scores before softmax, so the remaining weights sum to 1")
        if w.shape[-2] > 1 and np.all(np.abs(w.sum(axis=-2) - 1.0) <= tol):
            return (f"{problem}, but the columns do: softmax seems taken over the queries (dim=-2); "
                    f"it must run over the keys, the last axis of the scores (dim=-1)")
        return f"{problem}: the attention weights are not a softmax over the keys"

    def _shift(self, fn: Callable, case: Case, tol: float) -> str | None:
        """The same vector u added to every key adds qᵢ·u/√d_k to all of row i's scores: no change."""
        k = case.inputs["k"]
        u = torch.linspace(-1.0, 1.0, k.shape[-1], dtype=k.dtype, device=k.device)
        try:
            before, after = self.call(fn, case), self.call(fn, case, k=k + u)
        except Exception:
            return None
        allowed = to_numpy(case.inputs["mask"]).astype(bool) if "mask" in case.inputs else None
        if close(after, before, tol, defined_rows(allowed, before.shape)):
            return None
        return ("not invariant under a shift: adding the same vector to every key adds a constant to each "
                "row of scores, which softmax must ignore, but the output changed")

    def _scale(self, fn, case: Case, weights, allowed, d_k: int, d_v: int, tol: float) -> str | None:
        q, k = (to_numpy(case.inputs[key]) for key in "qk")
        scores = np.einsum("...id,...jd->...ij", q, k)  # raw QKᵀ (no scaling): only to fit the factor
        t = probes.fit_scale(np.broadcast_to(scores, weights.shape), weights,
                             None if allowed is None else np.broadcast_to(allowed, weights.shape))
        right = 1 / math.sqrt(d_k)
        if t is None or abs(t / right - 1) < 1e-3:
            return None
        values, valid, _ = self.expected(case, scale=t / right)
        if not close(self.call(fn, case), values, tol, valid):
            return None
        named = probes.name_factor(t, {"1/d_k": 1 / d_k, "1 (no scaling)": 1.0, "1/√d_v": 1 / math.sqrt(d_v),
                                       "√d_k": math.sqrt(d_k)})
        return f"wrong scale: the scores QKᵀ are multiplied by {named} instead of 1/√d_k = {right:.4g}"
