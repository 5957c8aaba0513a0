"""Any registered derivation, step by step: each relation as MathTex from ``sympy.latex``, morphing
into the next with ``TransformMatchingTex`` (the parts that go fade out first, then the shared parts
move and the new ones fade in), its justification as a caption and its check status (from
:func:`explainer.check.check`) beside it. A relation too wide for one legible line is set on two.
"""
from __future__ import annotations

import re

import sympy as sp
from manim import DOWN, LEFT, UP, FadeIn, FadeOut, Write

from explainer.scenes.helpers import (ExplainerScene, caption, derivation, first_share, last_share, relation, report,
                            status_badge, step_transform)

SECTION_NAMES = {"step": "step", "result": "result", "example": "example"}
TOO_LONG = 6000  # LaTeX characters of one side: past this no size is legible at 480p (and TeX can overflow)
LEGIBLE = 0.3    # a relation fitted below this share of its font size is too small to read at 480p


class DerivationSteps(ExplainerScene):
    """The derivation named by ``derivation_name`` animated step by step (subclass or use
    :meth:`for_derivation` to pick another)."""

    derivation_name = "softmax"
    seconds = 36.0  # the whole video takes about this long, whatever the number of steps

    @classmethod
    def for_derivation(cls, name: str) -> type:
        """A subclass showing derivation ``name`` (``derivation:NAME`` on the command line)."""
        title = "".join(part.capitalize() for part in re.split(r"[^a-z0-9]+", name)) + "Steps"
        return type(title, (cls,), {"derivation_name": name})

    def construct(self) -> None:
        d, checked = derivation(self.derivation_name), report(self.derivation_name)
        items = d.all_steps()
        per_step = min(2.0, (self.seconds - 3) / len(items))

        # --- title and summary
        self.title(d.title)
        self.say(_first_sentence(d.summary), run_time=min(1.0, per_step))

        # --- one relation after another; a chain keeps its left side
        shown, badge, counter = None, None, None
        previous = {}
        for section, number, step in items:
            lhs = step.lhs if step.lhs is not None else previous.get(section)
            previous[section] = step.rhs
            new, elided = legible_relation(lhs, step.rel, step.rhs)
            new.move_to(UP * 0.3)
            why = step.why + (f" (written out by 'explainer show {self.derivation_name}')" if elided else "")
            status = checked.result_for(section, number).status
            new_badge = status_badge(status).next_to(new, DOWN, buff=0.45)
            new_counter = caption(f"{SECTION_NAMES[section]} {number}", font_size=20, width=4).to_corner(UP + LEFT)
            new_counter.shift(DOWN * 0.8)
            move = Write(new) if shown is None else step_transform(shown, new)
            extra = [FadeOut(m, rate_func=first_share(0.4)) for m in (badge, counter) if m is not None]
            fade_in = {} if shown is None else {"rate_func": last_share(0.4)}
            self.play(move, FadeIn(new_badge, **fade_in), FadeIn(new_counter, **fade_in), *extra,
                      *self.say_animations(why), run_time=0.45 * per_step)
            self.wait(0.55 * per_step)
            shown, badge, counter = new, new_badge, new_counter
        self.wait(1)


class Elided:
    """Stands in for a side too long to show legibly: a matrix as ``[ ⋯ ]`` with its shape, anything
    else as ``⋯``. ``sympy.latex`` prints it through ``_latex``."""

    def __init__(self, expr) -> None:
        self.shape = getattr(expr, "shape", None)

    def _latex(self, printer) -> str:
        if self.shape:
            return rf"\left[\;\cdots\;\right]_{{{self.shape[0]} \times {self.shape[1]}}}"
        return r"\cdots"


def legible_relation(lhs, rel: str, rhs):
    """``(MathTex of lhs REL rhs, whether a side was elided)``, fitted to the screen.

    A side longer than ``TOO_LONG`` LaTeX characters is elided before TeX sees it; then, while the
    relation would be shown below ``LEGIBLE`` of its size, the longer side left is elided (a written-out
    matrix becomes ``[ ⋯ ]`` with its shape): the step's words, status and other side stay readable.
    """
    sides = [lhs if lhs is None or len(sp.latex(lhs)) <= TOO_LONG else Elided(lhs),
             rhs if len(sp.latex(rhs)) <= TOO_LONG else Elided(rhs)]
    shown = relation(sides[0], rel, sides[1], width=12.5, height=3.6)
    while shown.shrink < LEGIBLE:
        long = [k for k, side in enumerate(sides) if side is not None and not isinstance(side, Elided)]
        if not long:
            break
        k = max(long, key=lambda k: len(sp.latex(sides[k])))
        sides[k] = Elided(sides[k])
        shown = relation(sides[0], rel, sides[1], width=12.5, height=3.6)
    return shown, any(isinstance(side, Elided) for side in sides)


def _first_sentence(text: str) -> str:
    return text.split(". ")[0].rstrip(".") + "."
