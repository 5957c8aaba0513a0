"""``multi-head-attention``: ``fn(x, w_q, w_k, w_v, w_o, n_heads)`` and ``fn(..., n_heads, mask)``.

Weight layout (``nn.Linear``'s, out × in, no biases): ``w_q``, ``w_k``, ``w_v``, ``w_o`` are
(d_model, d_model); ``q = x @ w_q.T`` (same for k, v); head r uses features r·d_head … (r+1)·d_head − 1
of q, k and v (``q.view(..., n, h, d_head)``); ``out = concat(heads) @ w_o.T``. This is
``nn.MultiheadAttention``'s layout with ``in_proj_weight = cat([w_q, w_k, w_v])``,
``out_proj.weight = w_o`` and zero biases. ``x`` is (..., n, d_model); ``mask`` boolean, broadcastable
to (..., n, n), ``True`` where a query may attend to a key, the same for every head.

Expected values: the ``multi-head-attention`` closed form itself (``nn.MultiheadAttention`` layout) on
the first case of every seed; elsewhere (larger sizes, masks) the decomposition that derivation
proves, MultiHead(X) = [head_1 | … | head_h] W_Oᵀ, with each head from the
``scaled-dot-product-attention`` / ``attention-masks`` closed forms (the projections are exact
float64 products).
"""
from __future__ import annotations

import math
from typing import Callable, Iterator

import numpy as np
import torch

from explainer.testing import probes
from explainer.testing.attention import attention_reference, defined_rows, excluded_note
from explainer.testing.core import Case, Options, Spec, close, closed_form, probe_tolerance, to_numpy

#: (n, d_model, heads); the first is evaluated with the multi-head-attention closed form itself.
SIZES = ((2, 4, 2), (3, 4, 2), (4, 6, 3), (2, 6, 2), (3, 4, 1))


def heads_reference(x, w_q, w_k, w_v, w_o, h: int, allowed=None, scale: float = 1.0) -> np.ndarray:
    """[head_1 | … | head_h] W_Oᵀ with head r = Attention(X W_Q^(r)ᵀ, X W_K^(r)ᵀ, X W_V^(r)ᵀ) from the
    attention closed forms; ``scale`` multiplies the queries (to test a wrong scale)."""
    d = x.shape[-1]
    size = d // h
    heads = []
    for r in range(h):
        rows = slice(r * size, (r + 1) * size)
        q, k, v = (x @ w[rows].T for w in (w_q, w_k, w_v))                  # (..., n, d_head)
        heads.append(attention_reference(q * scale, k, v, allowed))
    return np.concatenate(heads, axis=-1) @ w_o.T                           # (..., n, d)


def mha_closed_form(x, w_q, w_k, w_v, w_o, h: int) -> np.ndarray:
    """The ``multi-head-attention`` closed form (nn.MultiheadAttention layout, zero biases) per batch item."""
    n, d = x.shape[-2:]
    f = closed_form("multi-head-attention", "output", n=n, d_model=d, h=h)
    w_in, b_in, b_o = np.concatenate([w_q, w_k, w_v]), np.zeros((1, 3 * d)), np.zeros((1, d))
    out = np.empty(x.shape)
    for index in np.ndindex(*x.shape[:-2]):
        out[index] = f(x[index], w_in, b_in, w_o, b_o)
    return out


class MultiHeadSpec(Spec):
    name = "multi-head-attention"
    signature = "fn(x, w_q, w_k, w_v, w_o, n_heads) and fn(..., n_heads, mask); mask True = may attend"

    def cases(self, seed: int, dtype: torch.dtype, options: Options) -> Iterator[Case]:
        rng = np.random.default_rng([seed, 41])
        kinds = [None, None] + (["causal", "padding"] if options.masks else [])
        for i, kind in enumerate(kinds):
            n, d, h = SIZES[0] if i == 0 else SIZES[1 + (seed + i) % (len(SIZES) - 1)]
            batch = ((), (2,), (3,))[(seed + i) % 3] if i else (2,)
            arrays = {"x": rng.normal(size=batch + (n, d))}
            arrays.update({f"w_{p}": rng.normal(size=(d, d)) / math.sqrt(d) for p in "qkvo"})
            inputs = {key: torch.tensor(a, dtype=dtype, device=options.device) for key, a in arrays.items()}
            inputs["n_heads"] = h
            text = f"x {tuple(batch + (n, d))}, weights ({d}, {d}), n_heads={h}"
            if kind == "causal":
                mask = np.tril(np.ones((n, n), bool))
            elif kind == "padding":
                lengths = rng.integers(1, n + 1, size=batch[:1] or (1,))
                mask = (np.arange(n) < lengths[:, None]).reshape(batch[:1] + (1, n))
            if kind is not None:
                inputs["mask"] = torch.tensor(mask, device=options.device)
                text += f", {kind} mask {tuple(mask.shape)}"
            yield Case(seed, dtype, text + ("" if kind else ", no mask"), inputs, {"direct": i == 0})

    def call(self, fn: Callable, case: Case, **replace) -> np.ndarray:
        a = {**case.inputs, **replace}
        args = [a["x"], a["w_q"], a["w_k"], a["w_v"], a["w_o"], a["n_heads"]] + ([a["mask"]] if "mask" in a else [])
        return to_numpy(fn(*args))

    def _arrays(self, case: Case, **replace):
        a = {**case.inputs, **replace}
        allowed = to_numpy(a["mask"]).astype(bool) if "mask" in a else None
        return [to_numpy(a[key]) for key in ("x", "w_q", "w_k", "w_v", "w_o")], a["n_heads"], allowed

    def expected(self, case: Case, scale: float = 1.0, **replace):
        arrays, h, allowed = self._arrays(case, **replace)
        if case.extra.get("direct") and allowed is None and scale == 1.0 and not replace:
            values = mha_closed_form(*arrays, h)
        else:
            values = heads_reference(*arrays, h, allowed, scale)
        n = values.shape[-2]
        full = None if allowed is None else np.broadcast_to(allowed, values.shape[:-2] + (n, n))
        return values, defined_rows(full, values.shape), excluded_note(full, values.shape[:-2])

    def diagnose(self, fn: Callable, case: Case, options: Options) -> str | None:
        tol = probe_tolerance(case.dtype)
        return (self._inverted(fn, case, tol) or self._scale(fn, case, tol) or self._rows(fn, case, tol)
                or self._mask(fn, case, tol) or self._layout(fn, case, tol))

    def _inverted(self, fn, case: Case, tol: float) -> str | None:
        """Given the opposite mask, a function that reads True as 'blocked' computes the right output."""
        if "mask" not in case.inputs:
            return None
        try:
            flipped = self.call(fn, case, mask=~case.inputs["mask"])
        except Exception:
            return None
        values, valid, _ = self.expected(case)
        if not close(flipped, values, tol, valid):
            return None
        return ("mask not respected: the mask looks inverted — given the opposite mask your function gives the "
                "right output. True must mean 'may attend' (as in F.scaled_dot_product_attention), not "
                "'blocked' (as in nn.MultiheadAttention's attn_mask)")

    def _scale(self, fn, case: Case, tol: float) -> str | None:
        d, h = case.inputs["x"].shape[-1], case.inputs["n_heads"]
        size = d // h
        right = 1 / math.sqrt(size)
        actual = self.call(fn, case)
        for label, factor in (("1/√d_model", 1 / math.sqrt(d)), ("1/d_head", 1 / size), ("1 (no scaling)", 1.0)):
            if abs(factor / right - 1) < 1e-3:
                continue
            values, valid, _ = self.expected(case, scale=factor / right)
            if close(actual, values, tol, valid):
                return (f"wrong scale: each head's scores are multiplied by {label} = {factor:.4g} instead of "
                        f"1/√d_head = {right:.4g} (d_head = d_model / n_heads = {size})")
        return None

    def _rows(self, fn, case: Case, tol: float) -> str | None:
        """Give feature r·d_head (one per head) the constant 1, hide it from queries and keys, and pass
        it through with W_V = W_O = I: output column r·d_head is then the row sum of head r's weights."""
        x, d, h = case.inputs["x"], case.inputs["x"].shape[-1], case.inputs["n_heads"]
        cols = [r * (d // h) for r in range(h)]
        x1, w_q, w_k = x.clone(), case.inputs["w_q"].clone(), case.inputs["w_k"].clone()
        x1[..., cols], w_q[:, cols], w_k[:, cols] = 1.0, 0.0, 0.0
        eye = torch.eye(d, dtype=x.dtype, device=x.device)
        try:
            sums = self.call(fn, case, x=x1, w_q=w_q, w_k=w_k, w_v=eye, w_o=eye)[..., cols]  # (..., n, h)
        except Exception:
            return None
        _, valid, _ = self.expected(case)
        problem = probes.rows_sum_to_one(sums[..., None], tol, valid=None if valid is None else valid)
        if problem is None:
            return None
        if "mask" in case.inputs:
            return (f"attention {problem} with a mask: the mask seems applied "
                    f"after softmax; the derivation adds −∞ to masked scores before softmax")
        return f"attention {problem}: each head's weights must be a softmax over the keys (the last axis)"

    def _mask(self, fn, case: Case, tol: float) -> str | None:
        """Changing token j may only change the outputs of queries allowed to see j (and j itself)."""
        if "mask" not in case.inputs:
            return None
        x = case.inputs["x"]
        n = x.shape[-2]
        x1 = x.clone()
        x1[..., n - 1, :] += 1.0
        before, after = self.call(fn, case), self.call(fn, case, x=x1)
        allowed = np.broadcast_to(to_numpy(case.inputs["mask"]).astype(bool), before.shape[:-2] + (n, n))
        blind = ~allowed[..., :, n - 1:n]                                   # (..., n, 1): cannot see token n-1
        blind[..., n - 1, :] = False
        if close(after, before, tol, blind & defined_rows(allowed, before.shape)):
            return None
        return (f"mask not respected: changing token {n - 1} changed the output of a query the mask forbids to "
                f"see it (True must mean 'may attend')")

    def _layout(self, fn, case: Case, tol: float) -> str | None:
        if case.inputs["n_heads"] == 1:
            return None
        values, valid, _ = self.expected(case, n_heads=1)
        if not close(self.call(fn, case, n_heads=1), values, tol, valid):
            return None
        return ("heads split or concatenated in the wrong layout (one head matches, several do not): head r must "
                "use features r·d_head … (r+1)·d_head − 1 of x @ w_q.T, i.e. q.view(..., n, n_heads, d_head)")
