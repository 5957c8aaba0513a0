"""Any registered derivation, step by step: each relation as MathTex from ``sympy.latex``, morphing
into the next with ``TransformMatchingTex``, its justification as a caption and its check status
(from :func:`explainer.check.check`) beside it.
"""
from __future__ import annotations

import re

from manim import DOWN, LEFT, UP, FadeIn, FadeOut, TransformMatchingTex, Write

from scenes.helpers import ExplainerScene, caption, derivation, fit, formula, relation_parts, report, status_badge

SECTION_NAMES = {"step": "step", "result": "result", "example": "example"}


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
            new = formula(relation_parts(lhs, step.rel, step.rhs), width=12.5, font_size=44)
            fit(new, 12.5, 3.6).move_to(UP * 0.3)
            status = checked.result_for(section, number).status
            new_badge = status_badge(status).next_to(new, DOWN, buff=0.45)
            new_counter = caption(f"{SECTION_NAMES[section]} {number}", font_size=20, width=4).to_corner(UP + LEFT)
            new_counter.shift(DOWN * 0.8)
            move = Write(new) if shown is None else TransformMatchingTex(shown, new)
            extra = [FadeOut(m) for m in (badge, counter) if m is not None]
            self.play(move, FadeIn(new_badge), FadeIn(new_counter), *extra, *self.say_animations(step.why),
                      run_time=0.6 * per_step)
            self.wait(0.4 * per_step)
            shown, badge, counter = new, new_badge, new_counter
        self.wait(1)


def _first_sentence(text: str) -> str:
    return text.split(". ")[0].rstrip(".") + "."
