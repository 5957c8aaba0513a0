"""The numeric checks, one module per topic; :data:`CHECKS` maps a derivation's name to its checks.

Each check is ``fn(ctx) -> list[Result]`` (see :mod:`explainer.numeric.checks.base`): it evaluates the
derivation's closed form in float64 on tensors of the reference run and compares with what PyTorch's
own code computed there.
"""
from __future__ import annotations

from explainer.numeric.checks import attention, block, cost, positions, scaling, training, vectors

_MODULES = (vectors, positions, attention, scaling, block, training, cost)


def _collect() -> dict[str, list]:
    found: dict[str, list] = {}
    for module in _MODULES:
        for name in dir(module):
            fn = getattr(module, name)
            if name.startswith("check_") and callable(fn) and hasattr(fn, "derivation"):
                found.setdefault(fn.derivation, []).append(fn)
    return found


#: derivation name -> its check functions
CHECKS: dict[str, list] = _collect()
