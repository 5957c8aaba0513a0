"""Render time of each scene at low quality (854×480 at 15 fps) against a plain Manim floor.

For every scene: the first render (empty cache; with a progress callback, so the dry run that
measures the progress bar's total counts, as in ``explainer render``) and a cached re-render, then
a *reference* scene with no engine in it, rendered in the same run: it plays as many animations of
the same lengths, keeps as many mobjects on screen, compiles as many distinct LaTeX strings and sets
the same words (Pango texts) as the scene did.

    .venv/bin/python -m benchmarks.render                 # every scene and the two derivation videos
    .venv/bin/python -m benchmarks.render softmax-scaling derivation:softmax
    .venv/bin/python -m benchmarks.render --durations     # every derivation video: length vs reading time

Each render runs in its own process (as two ``explainer render`` calls would), in wall seconds and
in CPU seconds (the process + its LaTeX children: steadier on a shared machine). Columns: the first
render, the reference's, their ratio; "manim": a re-render with Manim's partial-movie cache only (it
still runs construct and hashes every animation), as % of the first ("ref": the same for the
reference); "cached": a re-render through ``explainer render``'s finished-file cache, as % of the first.
Goals: first render / reference ≤ 1.2; cached re-render < 20 % of the first render.
"""
from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from explainer import scenes
from explainer.render import QUALITIES, _render_class, render


@dataclass
class Profile:
    """What a render did: each animation's length, the most mobjects on screen, LaTeX strings compiled,
    the distinct words (Pango texts) shown."""

    durations: list[float] = field(default_factory=list)
    mobjects: int = 0
    tex: int = 0
    texts: list[str] = field(default_factory=list)


def recording(scene_class, profile: Profile):
    """``scene_class`` with ``play`` noting each animation's length and the mobjects on screen (in the
    real render only, not in the dry run that measures the progress bar's total)."""
    from manim import Text

    def play(self, *args, **kwargs):
        before = self.renderer.time
        scene_class.play(self, *args, **kwargs)
        if self.renderer._original_skipping_status:  # the progress bar's dry run, not the video
            return
        profile.durations.append(self.renderer.time - before)
        profile.mobjects = max(profile.mobjects, len(self.mobjects))
        shown = {m.text for top in self.mobjects for m in top.get_family() if isinstance(m, Text)}
        profile.texts += sorted(shown - set(profile.texts))

    return type(scene_class.__name__, (scene_class,), {"play": play})


def reference(profile: Profile):
    """A plain Manim scene shaped like ``profile``: as many plays of the same lengths, as many distinct
    formulas, the same words, as many mobjects; each item fades in once and out two plays later
    (the rest of the screen stays still, as in the scenes)."""
    from manim import FadeIn, FadeOut, MathTex, Scene, Square, Text, VGroup

    class Reference(Scene):
        def construct(self):
            formulas = [MathTex(rf"x_{{{i}}} = \frac{{a_{{{i}}}}}{{\sqrt{{b_{{{i}}}}}}}", font_size=36)
                        for i in range(profile.tex)]
            words = [Text(text, font_size=24) for text in profile.texts]
            squares = [Square(0.3, fill_opacity=0.8)
                       for _ in range(max(profile.mobjects - len(formulas) - len(words), 1))]
            items = [*formulas, *words, *squares]
            plays = len(profile.durations)
            groups = [VGroup(*items[k * len(items) // plays:(k + 1) * len(items) // plays]) for k in range(plays)]
            for group in groups:
                if len(group):
                    group.arrange_in_grid(cols=2, buff=0.2)
                    if group.width > 13:
                        group.scale_to_fit_width(13)
            for k, seconds in enumerate(profile.durations):
                fades = [FadeIn(groups[k])] if len(groups[k]) else []
                fades += [FadeOut(groups[k - 2])] if k >= 2 and len(groups[k - 2]) else []
                if fades:
                    self.play(*fades, run_time=seconds)
                else:
                    self.wait(seconds)

    return Reference


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (LaTeX, dvisvgm): steadier than wall time
    on a shared machine."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def child(kind: str, target: str, cache: Path) -> dict:
    """Render in a fresh process (as two ``explainer render`` runs would: Manim 0.22 misses its own
    cache for MathTex when one process renders a scene twice) and return its timings and profile."""
    out = subprocess.run([sys.executable, "-m", "benchmarks.render", "--child", kind, target, str(cache)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def render_here(kind: str, target: str, cache: Path) -> dict:
    """The child's side: render ``target`` (a scene name through :func:`explainer.render.render`, or a
    profile JSON for the reference through Manim alone)."""
    profile = Profile()
    wall, cpu = time.perf_counter(), cpu_seconds()
    if kind == "scene":
        load = scenes.load
        scenes.load = lambda name: recording(load(name), profile)  # note what the scene plays
        with tempfile.TemporaryDirectory() as out:
            render(target, quality="low", output=out, cache_dir=cache,
                   on_progress=lambda done, total: None)  # as `explainer render`, progress bar included
    else:
        settings = {"quality": QUALITIES["low"], "media_dir": str(cache), "disable_caching": False,
                    "progress_bar": "none", "verbosity": "ERROR", "output_file": "reference", "write_to_movie": True}
        _render_class(reference(Profile(**json.loads(Path(target).read_text()))), settings)
    seconds = {"wall": time.perf_counter() - wall, "cpu": cpu_seconds() - cpu}
    profile.tex = len(list((cache / "Tex").glob("*.svg")))
    return {**seconds, "profile": asdict(profile)}


def measure(name: str, root: Path) -> dict:
    """First render, re-render with Manim's cache only, re-render with the finished-file cache; the
    reference's first render and Manim-cached re-render."""
    cache, ref_cache = root / scenes.slug(name), root / f"{scenes.slug(name)}-reference"
    first = child("scene", name, cache)
    shutil.rmtree(cache / "finished")
    manim_cached = child("scene", name, cache)
    cached = child("scene", name, cache)
    shape = root / f"{scenes.slug(name)}.json"
    shape.write_text(json.dumps(first["profile"]))
    ref_first, ref_cached = child("reference", str(shape), ref_cache), child("reference", str(shape), ref_cache)
    return {"profile": first["profile"], "first": first, "manim_cached": manim_cached, "cached": cached,
            "ref_first": ref_first, "ref_cached": ref_cached}


def durations() -> None:
    """Each derivation video's length (from a dry run, no frame drawn) against the reading time of its
    captions, its steps, the smallest font a line is set at and the steps set below the minimum."""
    from explainer import registry
    from explainer.render import _dry_scene, _prepared
    from explainer.scenes.pacing import reading_seconds

    print(f"{'derivation':<30}{'steps':>6}{'video':>8}{'reading':>9}{'smallest font':>15}  below the minimum")
    for entry in registry.entries():
        try:
            scene = _dry_scene(*_prepared(f"derivation:{entry.name}", "low", "mp4", None, True, None, "normal", False))
        except Exception as exc:  # noqa: BLE001 - one broken derivation should not hide the others' figures
            print(f"{entry.name:<30}failed: {type(exc).__name__}: {str(exc).splitlines()[0][:80]}", flush=True)
            continue
        reading = sum(reading_seconds(b.caption) for b in scene.beats)
        small = ", ".join(f"{label} ({size:.0f})" for label, size in scene.too_small) or "-"
        print(f"{entry.name:<30}{len(scene.beats) - 1:>6}{scene.renderer.time:>7.1f}s{reading:>8.1f}s"
              f"{min(b.font_size for b in scene.beats):>15.1f}  {small}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="scenes to time (default: every scene and derivation:softmax)")
    parser.add_argument("--child", nargs=3, metavar=("KIND", "TARGET", "CACHE"), help=argparse.SUPPRESS)
    parser.add_argument("--durations", action="store_true", help="every derivation video's length and reading time")
    args = parser.parse_args()
    if args.durations:
        durations()
        return
    if args.child:
        print(json.dumps(render_here(args.child[0], args.child[1], Path(args.child[2]))))
        return
    names = args.names or [n for n in scenes.available() if not n.startswith(scenes.DERIVATION_PREFIX)] + \
        ["derivation:softmax", "derivation:permutation-equivariance"]
    print(f"{'':<27}{'':>23} | {'wall seconds':^33} | {'CPU seconds (process + LaTeX children)':^46}")
    print(f"{'scene':<27}{'plays':>6}{'video':>7}{'tex':>5}{'text':>5} |{'first':>7}{'ref':>7}{'ratio':>6}{'manim':>7}"
          f"{'cached':>7} |{'first':>7}{'ref':>7}{'ratio':>6}{'manim':>7}{'ref':>7}{'cached':>8}")
    with tempfile.TemporaryDirectory(prefix="explainer-bench-") as root:
        for name in names:
            r = measure(name, Path(root))
            p = r["profile"]
            row = f"{name:<27}{len(p['durations']):>6}{sum(p['durations']):>6.1f}s{p['tex']:>5}{len(p['texts']):>5} |"
            for unit in ("wall", "cpu"):
                first = r["first"][unit]
                row += f"{first:>6.1f}s{r['ref_first'][unit]:>6.1f}s{first / r['ref_first'][unit]:>6.2f}"
                row += f"{100 * r['manim_cached'][unit] / first:>6.0f}%"
                if unit == "cpu":
                    row += f"{100 * r['ref_cached'][unit] / r['ref_first'][unit]:>6.0f}%"
                row += f"{100 * r['cached'][unit] / first:>7.1f}%" + (" |" if unit == "wall" else "")
            print(row, flush=True)


if __name__ == "__main__":
    main()
