"""transformer-math explainer: derive, prove, verify against PyTorch and animate transformer mathematics.

The engine's public pieces (light imports only; torch and manim load on demand):

* :mod:`explainer.model` — :class:`Derivation`, :class:`Step`, :class:`Symbol`, :class:`Check`
* :mod:`explainer.check` — the step checker (:func:`check` returns a :class:`Report`)
* :mod:`explainer.registry` — find, list and register derivations
* :mod:`explainer.formats` — text, unicode, LaTeX, Markdown and JSON printers
"""
__all__ = ["Check", "Derivation", "Step", "Symbol", "define", "numeric", "prove"]


def __getattr__(name: str):
    """The data model's names, loaded on first use (so ``explainer --help`` does not import SymPy)."""
    if name in __all__:
        from explainer import model

        return getattr(model, name)
    raise AttributeError(f"module 'explainer' has no attribute {name!r}")
