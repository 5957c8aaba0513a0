"""Any registered derivation as a chain a teacher can show, step by step.

Each relation is MathTex from the project's LaTeX printer (as ``explainer show --format latex``). A chain
builds downwards: a link ``= c`` is written under the line before with its relation sign under that
line's, earlier lines stay on screen dimmed,
and the parts the two lines share (matched by their tex, ``\\sqrt{d_k}`` isolated) slide from the old
line into the new one (``TransformMatchingTex``). A step's where-lines ("where S = QKᵀ/√d_k") appear
with it. When the column reaches the caption it scrolls up. A new section (result, example) starts
a new column. Nothing is elided: a line too wide is set on two lines, then scaled, never below
``MIN_FONT_SIZE`` when it can be helped (a step that needs less is listed in ``too_small``).

Every step stays still for its reading time (:func:`explainer.scenes.pacing.hold_seconds`: its
caption's words, its formula's glyphs, the pace); with ``voice`` its caption is spoken by espeak-ng
and the speech sets the time when it is longer. The timeline is kept in ``beats``; captions become
subtitle cues and each step a chapter (:class:`~explainer.scenes.helpers.ExplainerScene`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from manim import DOWN, LEFT, RIGHT, UP, FadeIn, FadeOut, MathTex, VGroup, Write, config

from explainer.formats.latex import latex
from explainer.scenes.helpers import (ExplainerScene, caption, derivation, first_share, fit, last_share, made,
                                      relation, report, split_sqrt, status_badge, step_transform)
from explainer.scenes.narration import speak
from explainer.scenes.pacing import hold_seconds

SECTION_NAMES = {"step": "step", "result": "result", "example": "example"}
FONT_SIZE = 40        # a line's size when it fits
MIN_FONT_SIZE = 24    # the smallest a line is set: an "x" 10 px high at 720p (frame 8 units = 720 px)
PX_PER_UNIT_720P = 720 / 8
WIDTH = 13.2          # of the 14.2-unit frame
EDGE = 6.9            # no line crosses x = ±EDGE
TOP = 2.85            # the column's top, under the title
GAP = 0.32            # between two lines of the column
DIM = 0.4             # opacity of the lines before the current one
MOVE_SECONDS = 1.2    # a step's animation (the still time is on top of it)


@dataclass
class Beat:
    """One step on the timeline: when its animation starts, when it ends (the step is still from then
    on), when the step ends; its caption, the glyphs of its formula and the smallest font size used."""

    label: str
    caption: str
    glyphs: int
    font_size: float
    start: float
    still: float
    end: float = 0.0


class DerivationSteps(ExplainerScene):
    """The derivation named by ``derivation_name`` animated step by step (subclass or use
    :meth:`for_derivation` to pick another)."""

    derivation_name = "softmax"
    voice = False

    @classmethod
    def for_derivation(cls, name: str) -> type:
        """A subclass showing derivation ``name`` (``derivation:NAME`` on the command line)."""
        title = "".join(part.capitalize() for part in re.split(r"[^a-z0-9]+", name)) + "Steps"
        return type(title, (cls,), {"derivation_name": name})

    def construct(self) -> None:
        d, checked = derivation(self.derivation_name), report(self.derivation_name)
        self.beats: list[Beat] = []
        self.too_small: list[tuple[str, float]] = []

        # --- title and summary
        self.chapter("summary")
        start = self.renderer.time
        self.title(d.title)
        self.hold(Beat("summary", d.summary, 0, FONT_SIZE, start, start), self.say_animations(d.summary))

        # --- the steps, section by section, each section a column building downwards
        column, line, status, section, previous = VGroup(), None, None, None, {}
        for sec, number, step in d.all_steps():
            label = f"{SECTION_NAMES[sec]} {number}"
            if sec != section:
                if len(column):
                    self.play(FadeOut(column), run_time=0.5)
                column, line, section = VGroup(), None, sec
            lhs = step.lhs if step.lhs is not None or line is not None else previous.get(sec)
            previous[sec] = step.rhs
            block = self.block(label, lhs, step.rel, step.rhs, getattr(step, "where", ()), line)
            new_status = VGroup(caption(label, font_size=20, width=3), status_badge(checked.result_for(sec, number).status))
            new_status.arrange(RIGHT, buff=0.3)
            bottom = self.place(block, new_status, step.why, column)
            self.chapter(f"{label}: {_short(step.why)}")
            start = self.renderer.time
            self.scroll(column, block, bottom)
            moves = [Write(block[0]) if line is None else step_transform(line.copy(), block[0])]
            moves += [FadeIn(where, rate_func=last_share(0.4)) for where in block[1:]]
            moves += [column[-1].animate.set_opacity(DIM)] if len(column) else []
            moves += [FadeOut(status, rate_func=first_share(0.4))] if status is not None else []
            moves.append(FadeIn(new_status, rate_func=last_share(0.4)))
            beat = Beat(label, step.why, len(block.family_members_with_points()),
                        min(m.font for m in block), start, start)
            self.hold(beat, moves + self.say_animations(step.why))
            column.add(block)
            line, status = block[0], new_status
        self.wait(1)

    # --- timing

    def hold(self, beat: Beat, animations: list) -> None:
        """Play ``animations``, then keep the screen still for the beat's reading time (longer when its
        caption, spoken, takes longer); note the beat on the timeline."""
        said, speech = self.renderer.time, self.speak(beat.caption)
        self.play(*animations, run_time=MOVE_SECONDS)
        beat.still = self.renderer.time
        seconds = hold_seconds(beat.caption, beat.glyphs)
        if speech:  # the speech ends 0.4 s before the next step begins
            seconds = max(seconds, (speech - (beat.still - said) + 0.4) / self.pace)
        self.wait(seconds)
        beat.end = self.renderer.time
        self.beats.append(beat)

    def speak(self, text: str) -> float:
        """With ``voice``: ``text`` spoken by espeak-ng from now on; the seconds it lasts (else 0)."""
        if not self.voice:
            return 0.0
        path, seconds = speak(text, Path(config.media_dir) / "voice")
        self.add_sound(str(path))
        return seconds

    # --- layout

    def block(self, label: str, lhs, rel: str, rhs, where, above) -> VGroup:
        """``VGroup(line, *where-lines)``: the relation (a chain link's sign under the sign of the line
        ``above``), its where-lines under it; each mobject's ``font`` is the size it is set at."""
        line = relation(lhs, rel, rhs, width=WIDTH, height=3.4, font_size=FONT_SIZE,
                        min_scale=MIN_FONT_SIZE / FONT_SIZE)
        line.font = FONT_SIZE * line.shrink
        line.sign = len(split_sqrt(latex(lhs))) if lhs is not None else 0
        if lhs is None and above is not None:
            line.shift(RIGHT * (above[above.sign].get_x() - line[line.sign].get_x()))
        else:
            line.set_x(0)
        _inside(line)
        wheres = []
        for name, expr in where:
            shown = made(MathTex, r"\text{where }", latex(name), "=", latex(expr), font_size=0.8 * FONT_SIZE)
            natural = shown.width
            fit(shown, WIDTH - 1.0, 1.6)
            shown.font = 0.8 * FONT_SIZE * shown.width / natural
            wheres.append(shown)
        if wheres:
            VGroup(*wheres).arrange(DOWN, aligned_edge=LEFT, buff=0.15).next_to(line, DOWN, buff=0.22)
            VGroup(*wheres).align_to(line, LEFT).shift(RIGHT * 0.6)
            if VGroup(*wheres).get_right()[0] > EDGE:  # wider than the room right of the line: centred instead
                VGroup(*wheres).set_x(0)
            for shown in wheres:
                _inside(shown)
        for part in (line, *wheres):
            if part.font < MIN_FONT_SIZE - 1e-6:
                self.too_small.append((label, part.font))
        return VGroup(line, *wheres)

    def place(self, block: VGroup, status: VGroup, why: str, column: VGroup) -> float:
        """Put ``block`` under ``column`` (at the top when empty) and ``status`` over the step's
        caption; the lowest the column may reach (above ``status``)."""
        words = caption(why).to_edge(DOWN, buff=0.3)
        status.next_to(words, UP, buff=0.22).to_edge(LEFT, buff=0.5)
        bottom = status.get_top()[1] + 0.2
        if block.height > TOP - bottom:
            scale = (TOP - bottom) / block.height
            block.scale(scale)
            for part in block:
                part.font *= scale
        top = column.get_bottom()[1] - GAP if len(column) else TOP
        block.shift(UP * (top - block.get_top()[1]))
        return bottom

    def scroll(self, column: VGroup, block: VGroup, bottom: float) -> None:
        """When ``block`` (not yet shown) would end below ``bottom``: the lines that must go to make room
        fade out over the top, the others move up to the top, ``block`` goes under them."""
        lift = bottom - block.get_bottom()[1]
        if lift <= 1e-6 or not len(column):  # it fits (a block alone at the top was scaled to fit)
            return
        leaving = [b for b in column if b.get_top()[1] + lift > TOP + 0.05]
        staying = [b for b in column if b not in leaving]
        rise = TOP - staying[0].get_top()[1] if staying else lift  # no gap where the leaving lines were
        top = staying[-1].get_bottom()[1] + rise - GAP if staying else TOP
        block.shift(UP * (top - block.get_top()[1]))
        self.play(*(b.animate.shift(UP * rise) for b in staying),
                  *(FadeOut(b, shift=UP * rise) for b in leaving), run_time=0.6)
        column.remove(*leaving)


def _inside(mobject) -> None:
    """Shift ``mobject`` horizontally so that it lies between x = −EDGE and x = EDGE."""
    if mobject.get_right()[0] > EDGE:
        mobject.shift(LEFT * (mobject.get_right()[0] - EDGE))
    if mobject.get_left()[0] < -EDGE:
        mobject.shift(RIGHT * (-EDGE - mobject.get_left()[0]))


def _short(text: str, words: int = 8) -> str:
    """The first ``words`` words of ``text`` (a chapter title), "…" when cut."""
    cut = text.split()
    return " ".join(cut[:words]).rstrip(".,;:") + ("…" if len(cut) > words else "")
