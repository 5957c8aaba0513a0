"""transformer-math explainer: derive, prove, verify against PyTorch and animate transformer mathematics.

The engine's public pieces (light imports only; torch and manim load on demand):

* :mod:`explainer.model` — :class:`Derivation`, :class:`Step`, :class:`Symbol`, :class:`Check`
* :mod:`explainer.check` — the step checker (:func:`check` returns a :class:`Report`)
* :mod:`explainer.registry` — find, list and register derivations
* :mod:`explainer.formats` — text, unicode, LaTeX, Markdown and JSON printers
"""
from explainer.model import Check, Derivation, Step, Symbol, define, numeric, prove

__all__ = ["Check", "Derivation", "Step", "Symbol", "define", "numeric", "prove"]
