"""One colour language for every scene: each kind of quantity has one colour, everywhere.

Query, key and value keep their colours whether they are arrows, matrix rows, heat maps or symbols in
a caption; scores, attention weights (softmax outputs, probabilities) and positions likewise. A heat
map of a quantity is that colour from dark (most negative) to light (most positive), so Q, K and V
are told apart at a glance. Signed quantities that are not one of these (a gradient) use the
diverging pair ``NEGATIVE``/``POSITIVE``. Indices count from 0, as in the derivations (``q_0``,
``k_0``, ``v_0``, position 0, dimension 0).
"""
from __future__ import annotations

from manim import WHITE, ManimColor, interpolate_color

QUERY = ManimColor("#f2c14e")      # yellow
KEY = ManimColor("#58c4dd")        # blue
VALUE = ManimColor("#e07a5f")      # coral
SCORE = ManimColor("#b39ddb")      # violet: q·k, QKᵀ, logits
WEIGHT = ManimColor("#83c167")     # green: softmax outputs, attention weights, probabilities
POSITION = ManimColor("#ff7eb6")   # pink: positions and positional encodings
SINE, COSINE = POSITION, ManimColor("#9be7c4")  # the two members of a dimension pair (2i, 2i + 1)
OUTPUT = ManimColor("#f4a261")     # orange: an attention output (context vector)
TOKEN = ManimColor("#8d99ae")      # slate: text pieces (tokens), before they become vectors
HIGHLIGHT = ManimColor(WHITE)      # the thing about to change (the pair a merge joins)
TARGET = QUERY                     # the true token of a loss
NEGATIVE, NEUTRAL, POSITIVE = ManimColor("#4393c3"), ManimColor(WHITE), ManimColor("#d6604d")
BACKGROUND = ManimColor("#101218")  # as in manim.cfg


def ramp(color, t: float):
    """``color`` from dark (``t = 0``) through itself (``t ≈ 0.6``) to light (``t = 1``): a one-hue map."""
    dark, light = interpolate_color(BACKGROUND, color, 0.22), interpolate_color(color, WHITE, 0.45)
    t = min(1.0, max(0.0, float(t)))
    return interpolate_color(dark, color, t / 0.6) if t < 0.6 else interpolate_color(color, light, (t - 0.6) / 0.4)


def ink_on(fill) -> str:
    """Dark or light ink, whichever reads better on ``fill`` (by its luminance)."""
    r, g, b = ManimColor(fill).to_rgb()
    return "#111111" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.45 else "#f4f4f4"
