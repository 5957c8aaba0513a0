"""What every scene shares: the engine's numbers and LaTeX, and a few small mobject builders.

Numbers come from a derivation's ``closed_forms`` (lambdified with numpy), formulas from
``sympy.latex`` of its steps; nothing on screen is typed in. Mobject builders are plain functions
(a heatmap, a bar row, a caption) so scenes stay short and read top to bottom.
"""
from __future__ import annotations

import re
import textwrap
from functools import lru_cache

import numpy as np
import sympy as sp
from manim import (DOWN, GREY_B, ManimColor, GREEN_C, RED_D, RIGHT, UP, WHITE, YELLOW_C, MathTex, Rectangle,
                   Scene, Square, Text, VGroup, interpolate_color)

from explainer import registry
from explainer.formats.latex import LATEX_REL

FONT = "DejaVu Sans"
STATUS_COLORS = {"proved": GREEN_C, "checked numerically": YELLOW_C, "assumed": GREY_B, "failed": RED_D}
NEGATIVE, NEUTRAL, POSITIVE = ManimColor("#4393c3"), ManimColor(WHITE), ManimColor("#d6604d")


# --- the engine -----------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def derivation(name: str):
    """The registered derivation ``name``, built once per process."""
    return registry.build(name)


@lru_cache(maxsize=None)
def report(name: str):
    """The check report of derivation ``name`` (each step's status), from the check cache when fresh."""
    from explainer.cache import cached_check

    return cached_check(derivation(name))[0]


@lru_cache(maxsize=None)
def closed_form(name: str, label: str, **sizes):
    """``derivation(name).closed_forms(**sizes)[label]`` lambdified with numpy: a function of its args.

    Matrix arguments take numpy arrays of their shape; a matrix result comes back as a 2-D array.
    """
    args, expr = derivation(name).closed_forms(**sizes)[label]
    fn = sp.lambdify(args, expr, "numpy")
    if isinstance(expr, sp.MatrixBase):
        return lambda *a: np.asarray(fn(*a), dtype=float)
    return lambda *a: np.asarray(fn(*a), dtype=float)[()]


def find_step(name: str, test) -> tuple[str, int, object]:
    """The first ``(section, number, step)`` of derivation ``name`` whose LaTeX passes ``test(lhs, rhs)``."""
    previous = {}
    for section, number, step in derivation(name).all_steps():
        lhs = step.lhs if step.lhs is not None else previous.get(section)
        previous[section] = step.rhs
        if lhs is not None and test(sp.latex(lhs), sp.latex(step.rhs)):
            return section, number, step if step.lhs is not None else _with_lhs(step, lhs)
    raise LookupError(f"no step of {name!r} matches {test}")


def _with_lhs(step, lhs):
    from dataclasses import replace

    return replace(step, lhs=lhs)


def step_tex(step) -> str:
    """``lhs REL rhs`` of a step as one LaTeX string (from ``sympy.latex``)."""
    return f"{sp.latex(step.lhs)} {LATEX_REL[step.rel]} {sp.latex(step.rhs)}"


# --- LaTeX split for TransformMatchingTex ----------------------------------------------------------

_SQRT = re.compile(r"\\sqrt(\[[^\]]*\])?\{")


def split_sqrt(tex: str) -> list[str]:
    r"""``tex`` cut into pieces with every ``\sqrt{…}`` a piece of its own.

    Manim 0.22 matches MathTex parts by their exact tex string, and a square root glued to its
    neighbours never matches between two steps (manim issue #1525); isolated, ``\sqrt{d_{k}}``
    slides from one step to the next.
    """
    pieces, start = [], 0
    for match in _SQRT.finditer(tex):
        if match.start() < start:
            continue  # a root nested in one already cut out
        depth, end = 1, match.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(tex[end], 0)
            end += 1
        pieces += [tex[start:match.start()], tex[match.start():end]]
        start = end
    pieces.append(tex[start:])
    return [p for p in pieces if p.strip()]


def relation_parts(lhs, rel: str, rhs) -> list[str]:
    """MathTex arguments for ``lhs REL rhs``: each side cut by :func:`split_sqrt`, the relation alone."""
    left = split_sqrt(sp.latex(lhs)) if lhs is not None else []
    return left + [LATEX_REL[rel]] + split_sqrt(sp.latex(rhs))


# --- mobject builders ---------------------------------------------------------------------------

def fit(mobject, width: float, height: float | None = None):
    """Scale ``mobject`` down (never up) to fit ``width`` × ``height``."""
    if mobject.width > width:
        mobject.scale_to_fit_width(width)
    if height is not None and mobject.height > height:
        mobject.scale_to_fit_height(height)
    return mobject


def formula(tex: str | list[str], width: float = 12.0, font_size: float = 40, **kwargs) -> MathTex:
    """A MathTex (one string or a list of parts) scaled to fit ``width``."""
    parts = [tex] if isinstance(tex, str) else tex
    return fit(MathTex(*parts, font_size=font_size, **kwargs), width)


def caption(text: str, width: float = 12.5, font_size: float = 24, color=WHITE, wrap: int = 90) -> Text:
    """Words (Pango, any unicode) wrapped at ``wrap`` characters and fitted to ``width``."""
    return fit(Text(textwrap.fill(text, wrap), font=FONT, font_size=font_size, color=color), width)


def number(value: float, digits: int = 2, font_size: float = 20, color=WHITE) -> Text:
    """A number formatted with ``digits`` decimals (Pango text: fast, no LaTeX run per value)."""
    text = f"{value:.{digits}f}"
    if float(text) == 0:
        text = text.lstrip("-")  # no "−0.00"
    text = text.replace("-", "−")
    return Text(text, font=FONT, font_size=font_size, color=color)


def signed_color(value: float, scale: float):
    """Blue for negative, white for zero, red for positive; saturated at ``|value| = scale``."""
    t = float(np.clip(value / scale, -1, 1)) if scale else 0.0
    return interpolate_color(NEUTRAL, POSITIVE if t > 0 else NEGATIVE, abs(t))


def heatmap(values: np.ndarray, cell: float = 0.5, scale: float | None = None, labels: bool = True,
            digits: int = 2, font_size: float = 16) -> VGroup:
    """A grid of squares coloured by value (rows × columns of ``values``), with the numbers inside.

    The result is a VGroup of rows, each a VGroup of cells; a cell is ``VGroup(square[, number])``.
    """
    values = np.atleast_2d(values)
    scale = scale or float(np.max(np.abs(values))) or 1.0
    rows = VGroup()
    for r, row in enumerate(values):
        cells = VGroup()
        for c, v in enumerate(row):
            square = Square(cell, stroke_width=1, stroke_color=GREY_B, fill_opacity=1,
                            fill_color=signed_color(v, scale))
            square.move_to(RIGHT * c * cell + DOWN * r * cell)
            item = VGroup(square)
            if labels:
                item.add(fit(number(v, digits, font_size, color="#111111"), 0.85 * cell).move_to(square))
            cells.add(item)
        rows.add(cells)
    return rows


def bars(values, width: float = 4.0, height: float = 2.0, color=YELLOW_C, top: float | None = None) -> VGroup:
    """Vertical bars for ``values`` (non-negative), bottoms aligned, the tallest ``height`` when
    ``top`` is None (else the bar of value ``top`` is ``height``)."""
    values = np.asarray(values, dtype=float)
    top = top or float(values.max()) or 1.0
    step = width / len(values)
    group = VGroup()
    for i, v in enumerate(values):
        bar = Rectangle(width=0.7 * step, height=max(height * v / top, 1e-3), fill_color=color,
                        fill_opacity=0.9, stroke_width=0)
        bar.move_to(RIGHT * i * step, aligned_edge=DOWN)
        group.add(bar)
    return group


def status_badge(status: str, font_size: float = 20) -> Text:
    """The check status in words, coloured (proved green, numerically yellow, assumed grey, failed red)."""
    return Text(status, font=FONT, font_size=font_size, color=STATUS_COLORS.get(status, WHITE))


class ExplainerScene(Scene):
    """A scene with a title line at the top and a caption line at the bottom, each replaced in place."""

    def setup(self) -> None:
        self.title_mob = None
        self.caption_mob = None

    def title(self, text: str | MathTex, run_time: float = 0.8):
        """Show ``text`` (words or a formula) at the top, replacing the previous title."""
        new = caption(text, font_size=30) if isinstance(text, str) else fit(text, 13.0, 1.2)
        new.to_edge(UP, buff=0.25)
        self.play(*self._swap("title_mob", new), run_time=run_time)
        return new

    def say(self, text: str, run_time: float = 0.6):
        """Show ``text`` as the caption at the bottom, replacing the previous one."""
        self.play(*self.say_animations(text), run_time=run_time)

    def say_animations(self, text: str) -> list:
        """The animations that replace the caption by ``text`` (to play along with others)."""
        return self._swap("caption_mob", caption(text).to_edge(DOWN, buff=0.3))

    def _swap(self, attr: str, new) -> list:
        from manim import FadeIn, FadeOut

        old = getattr(self, attr)
        setattr(self, attr, new)
        return [FadeIn(new)] + ([FadeOut(old)] if old is not None else [])
