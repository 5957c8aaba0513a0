"""Online softmax: key/value tiles stream past one query; the running max m, sum ℓ and output o update
tile by tile, and the output matches the full softmax at the end.

Every number comes from the ``online-softmax`` derivation's own helpers (``block_state`` and ``merge``
with NumPy's exp and maximum), the same functions its proof and its checks use.
"""
from __future__ import annotations

import numpy as np
from manim import (DOWN, LEFT, RIGHT, UP, ChangeDecimalToValue, Create, DashedLine, DecimalNumber, FadeIn, Rectangle,
                   SurroundingRectangle, Transform, VGroup)

from explainer.derivations.online_softmax import block_state, merge
from explainer.scenes.helpers import ExplainerScene, Readout, fit, formula, light_digits, subscript, tex
from explainer.scenes.palette import KEY, OUTPUT, SCORE, VALUE, WEIGHT

NAME = "online-softmax"
UNIT = 0.42  # scene units per unit of score


def states(scores, values, tile: int) -> list[tuple[float, float, float]]:
    """(m, ℓ, o) after each tile: the state of tile 1, then merged with each next tile."""
    out, state = [], None
    for start in range(0, len(scores), tile):
        block = block_state(list(scores[start:start + tile]), list(values[start:start + tile]),
                            exp=np.exp, maximum=np.maximum)
        state = block if state is None else merge(*state, *block, exp=np.exp, maximum=np.maximum)
        out.append(tuple(float(x) for x in state))
    return out


def full_softmax(scores, values) -> float:
    """softmax(s)·v over all keys at once."""
    w = np.exp(np.asarray(scores) - np.max(scores))
    return float(w @ np.asarray(values) / w.sum())


class OnlineSoftmax(ExplainerScene):
    """Twelve keys k₀ … k₁₁ in four tiles of three (tile 1 holds k₀ … k₂); one query's scores as bars;
    m, ℓ, o live on the right."""

    scores = np.array([0.5, 1.2, -0.3, 2.0, 0.1, 1.1, 3.1, 0.4, -1.0, 2.4, 0.9, 1.5])
    values = np.array([1.0, -2.0, 0.5, 3.0, -1.0, 2.0, 0.8, -0.5, 1.5, -1.2, 2.5, 0.3])
    tile = 3

    def construct(self) -> None:
        self.title(formula(r"\ell = e^{m_1-m}\ell_1 + e^{m_2-m}\ell_2,\qquad "
                           r"o = \frac{e^{m_1-m}\ell_1 o_1 + e^{m_2-m}\ell_2 o_2}{\ell}", font_size=36))
        bars, names, cells = self.keys()
        track = states(self.scores, self.values, self.tile)
        readouts = self.readouts()
        self.play(Create(bars), FadeIn(names), FadeIn(cells), run_time=1.2)
        self.say(f"one query's scores s_j against twelve keys k₀ … k{subscript(len(self.scores) - 1)} (bars), "
                 "and each key's value v_j (below)")
        self.wait(1.5)
        self.play(FadeIn(readouts), run_time=0.6)
        frame, line = None, None
        for t, (m, ell, o) in enumerate(track):
            group = VGroup(*bars[t * self.tile:(t + 1) * self.tile], *cells[t * self.tile:(t + 1) * self.tile])
            new_frame = SurroundingRectangle(group, color=KEY, buff=0.12)
            y = self.baseline + m * UNIT
            left, right = bars[0].get_left()[0] - 0.2, bars[-1].get_right()[0] + 0.2
            new_line = VGroup(DashedLine([left, y, 0], [right, y, 0], color=SCORE),
                              tex("m", font_size=26, color=SCORE).move_to([right + 0.25, y, 0]))
            if frame is None:  # the frame moves to the tile as its caption comes in
                said = self.say_animations(f"tile 1 ({self.held(t)}) alone: its largest score m, the sum ℓ of "
                                           "e^(s − m), the weighted average o")
                self.play(Create(new_frame), Create(new_line), *said, run_time=0.8)
            else:
                grew = m > track[t - 1][0]
                said = self.say_animations(
                    f"tile {t + 1} ({self.held(t)}): the max rises to {m:.1f}, so the old ℓ and o are rescaled by "
                    f"e^(m_old − m) = {np.exp(track[t - 1][0] - m):.3f} before adding" if grew
                    else f"tile {t + 1} ({self.held(t)}): the max stays {m:.1f}; the new terms are added with "
                         "their weights")
                self.play(Transform(frame, new_frame), Transform(line, new_line), *said, run_time=0.8)
            if frame is None:
                frame, line = new_frame, new_line
            self.play(*(ChangeDecimalToValue(r, x) for r, x in zip(readouts.numbers, (m, ell, o))), run_time=1.0)
            self.wait(2.0)
        full = full_softmax(self.scores, self.values)
        check = tex(r"\operatorname{softmax}(s)\cdot v", font_size=32, color=WEIGHT)
        exact = VGroup(tex("=", font_size=36), DecimalNumber(full, num_decimal_places=4, font_size=36, color=OUTPUT))
        exact.arrange(RIGHT)
        VGroup(check, exact).arrange(DOWN, aligned_edge=LEFT, buff=0.25).next_to(readouts, DOWN, buff=0.6)
        VGroup(check, exact).align_to(readouts, LEFT)
        self.play(FadeIn(check), FadeIn(exact), run_time=0.8)
        self.say(f"all keys at once give {full:.4f}: the streamed o is the same, without ever holding all "
                 "twelve scores")
        self.wait(3.0)

    def held(self, t: int) -> str:
        """The keys tile ``t + 1`` holds, e.g. ``keys k₀ … k₂`` (keys count from 0, tiles are named from 1)."""
        first, last = t * self.tile, min((t + 1) * self.tile, len(self.scores)) - 1
        return f"keys k{subscript(first)} … k{subscript(last)}"

    @property
    def baseline(self) -> float:
        return -0.6

    def keys(self) -> tuple[VGroup, VGroup, VGroup]:
        """Score bars (up for positive, down for negative), key names, value cells; tiles spaced apart."""
        bars, names, cells = VGroup(), VGroup(), VGroup()
        for j, (s, v) in enumerate(zip(self.scores, self.values)):
            x = -6.2 + 0.62 * j + 0.25 * (j // self.tile)
            bar = Rectangle(width=0.4, height=max(abs(s), 0.05) * UNIT, color=SCORE, fill_color=SCORE,
                            fill_opacity=0.8, stroke_width=1)
            bar.move_to([x, self.baseline + s * UNIT / 2, 0])
            bars.add(bar)
            names.add(tex(f"k_{{{j}}}", font_size=22, color=KEY).move_to([x, self.baseline - 1.2, 0]))
            cell = DecimalNumber(v, num_decimal_places=1, font_size=20, color=VALUE, include_sign=True)
            cells.add(cell.move_to([x, self.baseline - 1.75, 0]))
        return bars, names, cells

    def readouts(self) -> VGroup:
        """Live m, ℓ and o, stacked on the right; ``.numbers`` are the DecimalNumbers."""
        rows, numbers = VGroup(), []
        for text, color in ((r"m =", SCORE), (r"\ell =", WEIGHT), (r"o =", OUTPUT)):
            label = tex(text, font_size=36, color=color)
            number = Readout(0, num_decimal_places=4, font_size=36, color=color).next_to(label, RIGHT)
            numbers.append(number)
            rows.add(VGroup(label, number))
        light_digits()
        rows.arrange(DOWN, aligned_edge=LEFT, buff=0.35).move_to(RIGHT * 4.5 + UP * 1.2)
        rows.numbers = numbers
        return fit(rows, 3.6)
