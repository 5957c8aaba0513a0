"""Topic knowledge: one module per topic. Each module imports SymPy and the engine's data model, never
torch or manim, and registers its derivations with :func:`explainer.registry.derivation`."""
