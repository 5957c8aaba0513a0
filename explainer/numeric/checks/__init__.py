"""The numeric checks, one module per topic; :data:`CHECKS` maps a derivation's name to its checks.

Each check is ``fn(ctx) -> list[Result]``, registered with the :func:`check` decorator: it evaluates the
derivation's closed form in float64 (:func:`explainer.numeric.compare.closed_form`) on tensors of the
reference run (``ctx.run().tensors``, ``ctx.run().model``) or on seeded inputs (``ctx.randn``) and
compares with what PyTorch's own code computed (:func:`explainer.numeric.compare.direct`).

A derivation of your own gets its verification the same way: declare ``closed_forms`` on it and
decorate a check with ``@check("your-derivation")`` in the module that registers it; ``explainer verify
--module``, ``assert_derivation_holds`` and ``pytest --explainer`` then run it too.
"""
from __future__ import annotations

from explainer.numeric.checks import attention, block, cost, hf_blocks, hf_sizes, llama, positions, scaling, training, vectors  # noqa: F401
from explainer.numeric.checks.base import CHECKS, Context, check

__all__ = ["CHECKS", "Context", "check"]
