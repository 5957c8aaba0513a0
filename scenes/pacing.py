"""How long a viewer needs to take a step in: reading its caption, looking at its formula.

No Manim here: ``explainer render`` checks ``--pace`` and tests compute a scene's required times from
these functions without rendering.

- reading: 0.3 s per word of caption (about 200 words a minute), never under 2 s;
- looking at a formula: 0.5 s plus 0.04 s per glyph drawn (a 25-glyph relation 1.5 s, a 4×4 matrix of
  ~120 glyphs 5.3 s), at most 6 s;
- the pace (``--pace``) multiplies both.
"""
from __future__ import annotations

SECONDS_PER_WORD = 0.3
MIN_READING_SECONDS = 2.0
PACES = {"slow": 1.5, "normal": 1.0, "fast": 0.75}


def words(text: str) -> int:
    """Words a viewer reads in ``text`` (runs of non-blank characters)."""
    return len(text.split())


def reading_seconds(text: str) -> float:
    """max(2 s, 0.3 s × words of ``text``)."""
    return max(MIN_READING_SECONDS, SECONDS_PER_WORD * words(text))


def formula_seconds(glyphs: int) -> float:
    """0.5 s + 0.04 s per glyph, at most 6 s (0 for no formula)."""
    return min(6.0, 0.5 + 0.04 * glyphs) if glyphs else 0.0


def hold_seconds(text: str, glyphs: int, pace: str | float = "normal") -> float:
    """How long a step with caption ``text`` and a formula of ``glyphs`` glyphs stays still."""
    factor = PACES[pace] if isinstance(pace, str) else float(pace)
    return factor * (reading_seconds(text) + formula_seconds(glyphs))
