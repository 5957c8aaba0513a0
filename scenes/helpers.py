"""What every scene shares: the engine's numbers and LaTeX, and a few small mobject builders.

Numbers come from a derivation's ``closed_forms`` (lambdified with numpy), formulas from
the project's LaTeX printer (``explainer.formats.latex``, SymPy's with the written term order kept) of its steps; nothing on screen is typed in. Mobject builders are plain functions
(a heatmap, a bar row, a caption) so scenes stay short and read top to bottom.
"""
from __future__ import annotations

import copy
import math
import re
import textwrap
from functools import lru_cache

import numpy as np
import sympy as sp
from manim import (DOWN, GREY_B, GREEN_C, LEFT, RED_D, RIGHT, UP, WHITE, YELLOW_C, DecimalNumber, FadeIn, FadeOut, MathTex,
                   Rectangle, Scene, Text, TransformMatchingTex, VGroup, config, interpolate_color, smooth)

from explainer import registry
from explainer.formats.latex import LATEX_REL, latex
from explainer.scenes.pacing import reading_seconds
from explainer.scenes.palette import NEGATIVE, NEUTRAL, POSITIVE, ink_on, ramp

FONT = "DejaVu Sans"
STATUS_COLORS = {"proved": GREEN_C, "checked numerically": YELLOW_C, "assumed": GREY_B, "failed": RED_D}


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
        if lhs is not None and test(latex(lhs), latex(step.rhs)):
            return section, number, step if step.lhs is not None else _with_lhs(step, lhs)
    raise LookupError(f"no step of {name!r} matches {test}")


def _with_lhs(step, lhs):
    from dataclasses import replace

    return replace(step, lhs=lhs)


def step_tex(step) -> str:
    """``lhs REL rhs`` of a step as one LaTeX string (the same LaTeX as ``explainer show --format latex``)."""
    return f"{latex(step.lhs)} {LATEX_REL[step.rel]} {latex(step.rhs)}"


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
    left = split_sqrt(latex(lhs)) if lhs is not None else []
    return left + [LATEX_REL[rel]] + split_sqrt(latex(rhs))


def relation(lhs, rel: str, rhs, width: float = 12.5, height: float = 3.6, font_size: float = 44,
             min_scale: float = 0.6) -> MathTex:
    """``lhs REL rhs`` as a MathTex (parts as in :func:`relation_parts`) fitted to ``width`` × ``height``.

    When one line would have to shrink below ``min_scale`` of ``font_size`` (illegible at 480p), the
    relation and the right side move to a second line under the left side, both centred: the same
    parts, so :func:`step_transform` still matches them with the steps before and after.
    """
    shown = made(MathTex, *relation_parts(lhs, rel, rhs), font_size=font_size)
    if shown.width * min_scale > width and lhs is not None:
        cut = len(split_sqrt(latex(lhs)))
        first, second = VGroup(*shown.submobjects[:cut]), VGroup(*shown.submobjects[cut:])
        second.next_to(first, DOWN, buff=0.3 * font_size / 44).set_x(first.get_x())
        shown.center()
    natural = shown.width
    fit(shown, width, height)
    shown.shrink = shown.width / natural  # 1 at font_size; a derivation scene elides what is too small
    return shown


def first_share(share: float):
    """A rate function that runs the whole animation in the first ``share`` of the time."""
    return lambda t: smooth(min(1.0, t / share))


def last_share(share: float):
    """A rate function that waits, then runs the whole animation in the last ``1 − share`` of the time."""
    return lambda t: smooth(max(0.0, (t - share) / (1 - share)))


def step_transform(old: MathTex, new: MathTex, share: float = 0.4) -> TransformMatchingTex:
    """``TransformMatchingTex(old, new)`` in two phases, so nothing is drawn on top of anything else:
    the parts of ``old`` that ``new`` lacks fade out first (the first ``share`` of the time), then
    the shared parts (matched by their tex, e.g. an isolated ``\\sqrt{d_{k}}``) slide into place
    while the new parts fade in."""
    animation = TransformMatchingTex(old, new)
    for part in animation.animations:
        part.rate_func = first_share(share) if isinstance(part, FadeOut) else last_share(share)
    return animation


# --- mobject builders ---------------------------------------------------------------------------

def lighten(mobject):
    """``mobject`` without the parsed SVG paths its glyphs keep after their points are built.

    Manim keeps each glyph's ``svgelements`` path (``path_obj``) although it is read only once,
    while the glyph is built; every ``copy()`` (each FadeIn, FadeOut and Transform makes some) then
    deep-copies it, which made copying a caption about 10× slower and copying the largest part of
    a derivation scene's render time. Nothing reads it afterwards, so it is dropped (and a Text's
    map of SVG groups by id, likewise; a MathTex keeps its own, which ``get_part_by_tex`` reads).
    """
    for member in mobject.get_family():
        if getattr(member, "path_obj", None) is not None:
            member.path_obj = None
        if isinstance(member, Text) and member.id_to_vgroup_dict:
            member.id_to_vgroup_dict = {}  # the SVG's groups by id, read only while a Text is built
    return mobject


def fit(mobject, width: float, height: float | None = None):
    """Scale ``mobject`` down (never up) to fit ``width`` × ``height``."""
    if mobject.width > width:
        mobject.scale_to_fit_width(width)
    if height is not None and mobject.height > height:
        mobject.scale_to_fit_height(height)
    return mobject


def light_digits() -> None:
    """:func:`lighten` the glyphs Manim keeps for :class:`~manim.DecimalNumber` (one per character,
    shared by all of them, copied on every ``set_value``: a live read-out copies them every frame)."""
    from manim.mobject.text import numbers

    for glyph in numbers.string_to_mob_map.values():
        lighten(glyph)


class Readout(DecimalNumber):
    """A :class:`~manim.DecimalNumber` for a live read-out (``set_value`` every frame): each character
    is a light copy of Manim's shared glyph (its points and colours copied, nothing else), not a deep
    copy of the whole MathTex: a ``set_value`` of a signed two-decimal number took 4.4 ms instead of
    7.9 ms here."""

    def _string_to_mob(self, string: str, mob_class=None, **kwargs):
        from manim.mobject.text import numbers

        if string not in numbers.string_to_mob_map:
            return super()._string_to_mob(string, mob_class, **kwargs)
        mob = _glyph_copy(numbers.string_to_mob_map[string])
        mob.font_size = self._font_size
        return mob


def readout_column(rows, buff: float) -> VGroup:
    """Live read-outs stacked left-aligned: for each ``(label, value, signed, recolor)`` the label and a
    :class:`Readout` kept at ``value()`` every frame (with its sign when ``signed``; coloured by
    ``recolor(value())`` when given)."""
    column = VGroup()
    for label, value, signed, recolor in rows:
        number = Readout(value(), num_decimal_places=2, font_size=40, include_sign=signed)
        if recolor is None:
            number.add_updater(lambda mob, v=value: mob.set_value(v()))
        else:
            number.add_updater(lambda mob, v=value, c=recolor: mob.set_value(v()).set_color(c(v())))
        column.add(VGroup(label, number.next_to(label, RIGHT)))
    DecimalNumber(-1234567890.5, include_sign=True)  # every glyph a read-out shows, made once ...
    light_digits()  # ... and light, since each set_value copies them
    return column.arrange(DOWN, aligned_edge=LEFT, buff=buff)


def _glyph_copy(glyph):
    """``glyph`` and its family, sharing what no later change touches (its TeX source, template and
    settings), with their own points, colours, submobjects and updaters."""
    clone = copy.copy(glyph)
    clone.points = glyph.points.copy()
    for attr in ("fill_rgbas", "stroke_rgbas", "background_stroke_rgbas"):
        if hasattr(glyph, attr):
            setattr(clone, attr, getattr(glyph, attr).copy())
    clone.submobjects = [_glyph_copy(member) for member in glyph.submobjects]
    clone.updaters = []
    return clone


_MADE: dict = {}


def made(cls, *args, **kwargs):
    """A copy of ``cls(*args, **kwargs)`` (a MathTex or a Text), built once per process and :func:`lighten`-ed.

    Manim caches the SVG of a formula or a text on disk but parses it again for every new mobject,
    which made building them most of a scene's construct time; a scene that shows "proved" or a
    number twice, and ``explainer render``'s dry run (for the progress bar) followed by the real
    run, now parse each once. Copies are cheap since the glyphs lost their parsed paths.
    """
    key = (cls, args, tuple(sorted((k, repr(v)) for k, v in kwargs.items())))
    if key not in _MADE:
        _MADE[key] = lighten(cls(*args, **kwargs))
    return _MADE[key].copy()


def formula(tex: str | list[str], width: float = 12.0, font_size: float = 40, **kwargs) -> MathTex:
    """A MathTex (one string or a list of parts) scaled to fit ``width``."""
    parts = [tex] if isinstance(tex, str) else tex
    return fit(made(MathTex, *parts, font_size=font_size, **kwargs), width)


def tex(*parts: str, **kwargs) -> MathTex:
    """A MathTex, made once per process (:func:`made`): cheap to copy and animate."""
    return made(MathTex, *parts, **kwargs)


def caption(text: str, width: float = 12.5, font_size: float = 24, color=WHITE, wrap: int = 90):
    """Words (Pango, any unicode) wrapped at ``wrap`` characters, each line centred, fitted to ``width``
    (a Text for one line, a VGroup of lines for more)."""
    lines = [made(Text, line, font=FONT, font_size=font_size, color=color)
             for line in textwrap.wrap(text, wrap) or [text]]
    if len(lines) == 1:
        return fit(lines[0], width)
    return fit(VGroup(*lines).arrange(DOWN, buff=0.12 * font_size / 24), width)


def signed(value: float, digits: int = 2, sign: bool = False) -> str:
    """``value`` with ``digits`` decimals and a true minus sign (−), never "−0.00"; ``sign`` adds "+"."""
    text = f"{value:{'+' if sign else ''}.{digits}f}"
    if float(text) == 0:
        text = f"{0:.{digits}f}"
    return text.replace("-", "−")


def subscript(n: int) -> str:
    """``n`` in Unicode subscript digits (``v₁₂``), for captions."""
    return str(n).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))


def number(value: float, digits: int = 2, font_size: float = 20, color=WHITE) -> Text:
    """A number formatted with ``digits`` decimals (Pango text: fast, no LaTeX run per value)."""
    return made(Text, signed(value, digits), font=FONT, font_size=font_size, color=color)


def signed_color(value: float, scale: float):
    """Blue for negative, white for zero, red for positive; saturated at ``|value| = scale``."""
    t = float(np.clip(value / scale, -1, 1)) if scale else 0.0
    return interpolate_color(NEUTRAL, POSITIVE if t > 0 else NEGATIVE, abs(t))


def heatmap(values: np.ndarray, cell: float | tuple[float, float] = 0.5, scale: float | None = None,
            labels: bool = True, digits: int = 2, font_size: float = 16, color=None) -> VGroup:
    """A grid of cells coloured by value (rows × columns of ``values``), with the numbers inside.

    Without ``color``: blue (negative), white, red (positive). With ``color`` (a quantity's colour from
    :mod:`~explainer.scenes.palette`): that colour from dark (−scale, or 0 for non-negative values)
    to light (+scale). ``cell`` is a side or ``(width, height)``. Every number is drawn at one size,
    the largest at which the widest fits its cell (a "−0.42" is not smaller than a "0.42"), in the ink
    that reads best on its cell. The result is a VGroup of rows, each a VGroup of cells; a cell is
    ``VGroup(rectangle[, number])``.
    """
    values = np.atleast_2d(values)
    scale = scale or float(np.max(np.abs(values))) or 1.0
    width, height = (cell, cell) if np.isscalar(cell) else cell
    low = 0.0 if values.min() >= 0 else -scale
    fills = [[signed_color(v, scale) if color is None else ramp(color, (v - low) / (scale - low)) for v in row]
             for row in values]
    texts = [[number(v, digits, font_size, color=ink_on(f)) for v, f in zip(row, frow)]
             for row, frow in zip(values, fills)] if labels else None
    if texts:
        widest = max(t.width for row in texts for t in row)
        tallest = max(t.height for row in texts for t in row)
        shrink = min(1.0, 0.86 * width / widest, 0.7 * height / tallest)
    rows = VGroup()
    for r, row in enumerate(values):
        cells = VGroup()
        for c, v in enumerate(row):
            box = Rectangle(width=width, height=height, stroke_width=1, stroke_color=GREY_B, fill_opacity=1,
                            fill_color=fills[r][c])
            box.move_to(RIGHT * c * width + DOWN * r * height)
            item = VGroup(box)
            if texts:
                item.add(texts[r][c].scale(shrink).move_to(box))
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
    return made(Text, status, font=FONT, font_size=font_size, color=STATUS_COLORS.get(status, WHITE))


class ExplainerScene(Scene):
    """A scene with a title line at the top and a caption line at the bottom, each replaced in place.

    Every caption is also a subtitle cue (Manim writes the ``.srt`` next to the video) lasting until
    the next caption; :meth:`chapter` marks where a chapter starts (written next to the video as
    WebVTT chapters, ``NAME.chapters.vtt``). ``pace`` multiplies every :meth:`wait` (``--pace``).
    """

    pace = 1.0

    def setup(self) -> None:
        self.title_mob = None
        self.caption_mob = None
        self.cue = None       # (caption text, start second) of the caption on screen
        self.chapters = []    # (start second, title)

    def wait(self, duration: float = 1.0, *args, **kwargs):
        """``Scene.wait`` for ``duration`` × :attr:`pace` seconds, or longer when the caption on screen
        needs it: a scene holds still at the end of what a caption describes, so the wait lasts until
        the caption has been up for its reading time (:meth:`_end_cue` makes sure of it again before a
        caption with no wait is replaced). Rounded up to whole frames (Manim writes ``int(seconds ×
        fps)`` frames for a still wait: 2.4 s at 5 fps came out as 11 frames)."""
        duration = max(duration, self._unread() / self.pace)
        frames = math.ceil(duration * self.pace * config.frame_rate - 1e-6)
        return super().wait(frames / config.frame_rate + 1e-6, *args, **kwargs)

    def chapter(self, title: str) -> None:
        """A chapter named ``title`` starts now."""
        self.chapters.append((self.renderer.time, title))

    def tear_down(self) -> None:
        """The last subtitle cue ends with the video; the chapters file is written next to it."""
        self._end_cue()
        if config.dry_run or not self.chapters:
            return
        path = self.renderer.file_writer.output_plan.subcaption_file  # <video>.srt; None for a still image
        if path is not None:
            path.with_suffix(".chapters.vtt").write_text(webvtt_chapters(self.chapters, self.renderer.time),
                                                          encoding="utf-8")

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
        """The animations that replace the caption by ``text`` (to play along with others); its subtitle
        cue starts now."""
        self._end_cue()
        self.cue = (text, self.renderer.time)
        return self._swap("caption_mob", caption(text).to_edge(DOWN, buff=0.3))

    def _end_cue(self) -> None:
        """The subtitle cue of the caption on screen ends now, once the caption has been up for its
        reading time (max(2 s, 0.3 s a word) × pace): when the scene moves on sooner, it holds still
        for the rest first."""
        if self.cue is None:
            return
        if self._unread() > 1e-6:
            self.wait(self._unread() / self.pace)
        text, start = self.cue
        self.add_subcaption(text, duration=self.renderer.time - start, offset=start - self.renderer.time)
        self.cue = None

    def _unread(self) -> float:
        """Seconds the caption on screen still needs to reach its reading time (max(2 s, 0.3 s a word)
        × pace); 0 when there is none or it has had its time."""
        if self.cue is None:
            return 0.0
        text, start = self.cue
        return max(0.0, reading_seconds(text) * self.pace - (self.renderer.time - start))

    def _swap(self, attr: str, new) -> list:
        """Fade the old text out, then the new one in (never both half-visible on top of each other)."""
        old = getattr(self, attr)
        setattr(self, attr, new)
        if old is None:
            return [FadeIn(new)]
        return [FadeOut(old, rate_func=first_share(0.45)), FadeIn(new, rate_func=last_share(0.45))]

    def play(self, *animations, **kwargs):
        """``Scene.play`` after :func:`lighten` on everything shown and animated (cheap copies)."""
        light_digits()
        for mobject in [*self.mobjects, *(getattr(a, "mobject", None) for a in animations)]:
            if mobject is not None and hasattr(mobject, "get_family"):
                lighten(mobject)
        return super().play(*animations, **kwargs)


def webvtt_chapters(chapters: list[tuple[float, str]], end: float) -> str:
    """WebVTT chapters: one cue per ``(start second, title)``, each lasting until the next (the last until
    ``end``)."""
    def stamp(t: float) -> str:
        ms = round(t * 1000)
        return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"

    cues = [f"{i}\n{stamp(start)} --> {stamp(stop)}\n{title}"
            for i, ((start, title), stop) in enumerate(zip(chapters, [t for t, _ in chapters[1:]] + [end]), 1)]
    return "WEBVTT\n\n" + "\n\n".join(cues) + "\n"
