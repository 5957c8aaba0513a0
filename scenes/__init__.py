"""Manim scenes, one module per topic. This registry is manim-free: names, classes and descriptions
are plain strings, and a scene's module is imported only by :func:`load` (``explainer scenes`` lists
them without importing manim).

Render with ``explainer render NAME`` or with plain manim beside ``manim.cfg``::

    cd scenes && manim -ql dot_products.py DotProductAlignment
    manim -ql --config_file scenes/manim.cfg scenes/dot_products.py DotProductAlignment
"""
from __future__ import annotations

import importlib
import importlib.util

#: scene name -> ("module:Class", one-line description), in teaching order.
SCENES = {
    "bpe-merges": ("explainer.scenes.tokenization:BpeMerges",
                   "a word split into characters, merged pair by pair as the vocabulary grows"),
    "dot-product-alignment": ("explainer.scenes.dot_products:DotProductAlignment",
                              "a key turning around a query: θ, cos θ and q·k live; softmax over keys; scaling"),
    "positional-encoding-waves": ("explainer.scenes.positional_encodings:PositionalEncodingWaves",
                                  "sine/cosine waves per dimension pair, the PE heatmap, the rotation view"),
    "rope-rotation": ("explainer.scenes.rope:RopeRotation",
                      "a query and a key pair turning with their positions; the score stays when both move"),
    "attention-weights": ("explainer.scenes.attention:AttentionWeights",
                          "a sentence, Q K V, the QKᵀ grid, scaling, softmax row by row, the context vector"),
    "softmax-scaling": ("explainer.scenes.softmax_scaling:SoftmaxScaling",
                        "q·k spreads as d_k grows unless divided by √d_k; unscaled softmax turns one-hot"),
    "cross-entropy": ("explainer.scenes.cross_entropy:CrossEntropy",
                      "the −log p curve, the loss at the true token, gradient bars p − y"),
    "online-softmax": ("explainer.scenes.online_softmax:OnlineSoftmax",
                       "key/value tiles stream past a query; running max m, sum ℓ, output o; equals full softmax"),
}
DERIVATION_PREFIX = "derivation:"
DERIVATION_SCENE = "explainer.scenes.derivation_steps:DerivationSteps"
DERIVATION_DESCRIPTION = "any registered derivation step by step, each with its justification and check status"


def available() -> dict[str, str]:
    """Scene name -> description for the scenes whose module exists (``derivation:NAME`` last)."""
    found = {name: text for name, (target, text) in SCENES.items() if _module_exists(target)}
    found[DERIVATION_PREFIX + "NAME"] = DERIVATION_DESCRIPTION
    return found


def _module_exists(target: str) -> bool:
    return importlib.util.find_spec(target.split(":")[0]) is not None


def resolve(name: str) -> tuple[str, str | None]:
    """``("module:Class", derivation name or None)`` for a scene name; unknown names raise UsageError.

    Checks only names (no manim import), so bad input is reported before any rendering starts.
    """
    from explainer import registry
    from explainer.errors import UsageError

    if name.startswith(DERIVATION_PREFIX):
        registry.get(name[len(DERIVATION_PREFIX):])  # UsageError with suggestions when unknown
        return DERIVATION_SCENE, name[len(DERIVATION_PREFIX):]
    known = [n for n in available() if not n.startswith(DERIVATION_PREFIX)]
    if name not in known:
        derivations = [DERIVATION_PREFIX + e.name for e in registry.entries()]
        raise UsageError(registry.unknown_message("scene", name, known + derivations, "explainer scenes"))
    return SCENES[name][0], None


def load(name: str):
    """The Manim scene class called ``name`` (imports manim)."""
    target, derivation = resolve(name)
    module, attribute = target.split(":")
    cls = getattr(importlib.import_module(module), attribute)
    return cls.for_derivation(derivation) if derivation else cls


def slug(name: str) -> str:
    """A file-name stem for a scene name: ``derivation:softmax`` -> ``derivation-softmax``."""
    return name.replace(":", "-")
