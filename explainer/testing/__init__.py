"""Check your own implementation against a proved derivation, inside your own pytest suite.

Needs torch (``pip install transformer-math-explainer[torch]``).

``assert_matches_derivation(name, fn)`` feeds ``fn`` many random inputs (several seeds, float64 and
float32, varied batch sizes, heads, sequence lengths and widths) and compares its output with the
derivation's closed form, evaluated in float64 by ``sympy.lambdify`` from the derivation itself. A
mismatch raises ``AssertionError`` naming the derivation, the input case, the largest error and, where
it can tell, the property of the derivation that is violated.

``assert_derivation_holds(name)`` checks a derivation itself: every step (``explainer.check``) and,
where the numeric engine knows it, its verification against PyTorch on the CPU. Use it for
derivations you register yourself (see :mod:`explainer.registry`).

Registering your own derivation takes the decorator ``explainer.registry.derivation(name, title,
topic)`` on a function that returns an :class:`explainer.model.Derivation` (or
``explainer.registry.register(derivation)`` for one already built, ``registry.unregister(name)`` to
remove it). It is then checked like a built-in one, here and by ``pytest --explainer``:

>>> import sympy as sp
>>> from explainer import registry
>>> from explainer.model import Derivation, Step, prove
>>> a, b = sp.symbols("a b", real=True)
>>> @registry.derivation("my-square-of-a-sum", "The square of a sum", "vectors")
... def square_of_a_sum():
...     expanded = a**2 + 2*a*b + b**2
...     return Derivation(summary="(a + b)² = a² + 2ab + b²",
...                       steps=(Step(lhs=(a + b)**2, rhs=expanded, why="expand", check=prove("expand")),),
...                       result=Step(lhs=(a + b)**2, rhs=expanded, why="the result"))
>>> assert_derivation_holds("my-square-of-a-sum").statuses
{'proved': 2}
>>> registry.unregister("my-square-of-a-sum")

A derivation of your own is verified against PyTorch too once you register a numeric check for it
(``@explainer.numeric.checks.check("my-name")``, a function ``fn(ctx) -> list[Result]``; see
:mod:`explainer.numeric.checks`). ``assert_matches_derivation`` knows how to call a function only for
the derivations in :data:`SIGNATURES`.
"""
from __future__ import annotations

from typing import Callable

from explainer.testing.core import Options, Summary
from explainer.testing.distributed import SHARDS as _SHARDS
from explainer.testing.holds import HoldsReport, assert_derivation_holds

__all__ = ["assert_matches_derivation", "assert_derivation_holds", "Summary", "HoldsReport", "SIGNATURES"]

#: derivation name -> "module:class" of its spec (imported on first use).
_SPECS = {
    "softmax": "explainer.testing.softmax:SoftmaxSpec",
    "scaled-dot-product-attention": "explainer.testing.attention:AttentionSpec",
    "multi-head-attention": "explainer.testing.multi_head:MultiHeadSpec",
    "positional-encoding": "explainer.testing.positional:PositionalSpec",
    "residual-layernorm": "explainer.testing.layer_norm:LayerNormSpec",
    "cross-entropy": "explainer.testing.cross_entropy:CrossEntropySpec",
}

#: How ``assert_matches_derivation`` calls your function, per derivation.
SIGNATURES = {
    "softmax": "fn(x, dim)",
    "scaled-dot-product-attention": "fn(q, k, v) and fn(q, k, v, mask); mask True = may attend",
    "multi-head-attention": "fn(x, w_q, w_k, w_v, w_o, n_heads) and fn(..., n_heads, mask)",
    "positional-encoding": "fn(n_positions, d_model)",
    "residual-layernorm": "fn(x, gamma, beta, eps)",
    "cross-entropy": "fn(logits, targets) (mean reduction; its gradient is checked through autograd)",
    **{name: f"fn(x, shard) on each of world_size ranks (option world_size, default 2): {what}"
       for name, what in _SHARDS.items()},
}


def assert_matches_derivation(name: str, fn: Callable, **options) -> Summary:
    """Assert that ``fn`` computes what the derivation ``name`` proves, on many random inputs.

    ``fn`` is called with torch tensors as listed in :data:`SIGNATURES` (``softmax``: ``fn(x, dim)``).
    Options: ``seeds`` (default ``(0, 1, 2)``), ``dtypes`` (default ``(torch.float64,
    torch.float32)``), ``device`` (default ``"cpu"``), ``rtol``/``atol`` (default: those of
    ``torch.testing.assert_close`` for each dtype) and ``masks`` (attention: also test masks, default
    ``True``). Returns a :class:`Summary` of what was covered; raises ``AssertionError`` on the first
    case that fails.

    >>> import torch
    >>> summary = assert_matches_derivation("softmax", torch.softmax)
    >>> summary.cases
    30
    >>> def naive(x, dim):
    ...     return torch.exp(x) / torch.exp(x).sum(dim, keepdim=True)
    >>> assert_matches_derivation("softmax", naive)
    Traceback (most recent call last):
    ...
    AssertionError: softmax: your function does not match the derivation's closed form
    ...
      property violated: not invariant under a shift: ...
    ...
    """
    __tracebackhide__ = True  # a failing pytest test shows the user's line and the message, not our frames
    if name in _SHARDS:  # sharded derivations run in real processes (explainer.testing.distributed)
        from explainer.testing.distributed import assert_matches_sharded

        return assert_matches_sharded(name, fn, **options)
    spec = _spec(name)
    return _run(spec, fn, _options(options))


def _spec(name: str):
    import importlib

    from explainer import registry

    registry.get(name)  # an unknown name raises UsageError with suggestions
    if name not in _SPECS:
        known = ", ".join(sorted(_SPECS))
        raise ValueError(f"assert_matches_derivation does not know how to call a function for {name!r}; "
                         f"it knows: {known}. Check your own derivation with assert_derivation_holds.")
    module, attribute = _SPECS[name].split(":")
    return getattr(importlib.import_module(module), attribute)()


def _options(options: dict) -> Options:
    allowed = set(Options.__dataclass_fields__)
    unknown = set(options) - allowed
    if unknown:
        raise TypeError(f"unknown option(s) {', '.join(sorted(unknown))}; use {', '.join(sorted(allowed))}")
    for key in ("seeds", "dtypes"):
        if key in options:
            options[key] = tuple(options[key])
    return Options(**options)


def _run(spec, fn: Callable, options: Options) -> Summary:
    __tracebackhide__ = True
    from explainer.testing.core import run

    return run(spec, fn, options)
