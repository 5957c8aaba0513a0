"""Derivation videos, from their own timeline and mobject sizes (a dry run: no frame drawn): every step
stays still for its reading time, the chain stays on screen, no formula is set below the minimum size."""
from __future__ import annotations

import pytest

from explainer import registry
from explainer import render as rendering
from explainer.scenes.pacing import PACES, formula_seconds, reading_seconds

pytest.importorskip("manim")

from explainer.scenes.derivation_steps import MIN_FONT_SIZE, PX_PER_UNIT_720P  # noqa: E402

NAMED = ["softmax", "permutation-equivariance"]  # the "done when" videos; every derivation under -m slow


@pytest.fixture(scope="module")
def timelines(glyph_dirs):
    """Dry runs of the named derivation videos at normal and fast pace."""
    runs = {(name, "normal"): rendering.dry_run(f"derivation:{name}", overrides=glyph_dirs) for name in NAMED}
    runs["softmax", "fast"] = rendering.dry_run("derivation:softmax", pace="fast", overrides=glyph_dirs)
    return runs


def words_needed(text: str) -> float:
    """Reading time written out here from the rule (0.3 s a word, at least 2 s), not from the scene."""
    return max(2.0, 0.3 * len(text.split()))


@pytest.mark.parametrize("name", NAMED)
def test_every_step_is_still_for_its_reading_time(timelines, name):
    scene = timelines[name, "normal"]
    labels = [b.label for b in scene.beats]
    steps = registry.build(name).all_steps()
    assert labels == ["summary"] + [f"{section} {number}" for section, number, _ in steps]
    for beat, (_, _, step) in zip(scene.beats[1:], steps):
        assert beat.caption == step.why
        still = beat.end - beat.still
        assert still >= words_needed(step.why) + formula_seconds(beat.glyphs) - 1e-6, beat.label
        assert beat.glyphs > 0  # a formula was shown
    summary = scene.beats[0]
    assert summary.end - summary.still >= words_needed(summary.caption) - 1e-6
    total_reading = sum(words_needed(b.caption) for b in scene.beats)
    assert scene.renderer.time >= total_reading


def test_pace_scales_the_still_time(timelines):
    normal, fast = timelines["softmax", "normal"], timelines["softmax", "fast"]
    for a, b in zip(normal.beats, fast.beats):
        assert b.end - b.still == pytest.approx(PACES["fast"] * (a.end - a.still), abs=0.15)  # whole frames
    assert fast.renderer.time < normal.renderer.time


@pytest.mark.parametrize("name", NAMED)
def test_no_formula_below_the_minimum_size(timelines, name):
    """Every line is set at ≥ MIN_FONT_SIZE; at 720p an 'x' of that size is at least 10 px high
    (measured here from a MathTex, not assumed)."""
    from manim import MathTex

    scene = timelines[name, "normal"]
    assert scene.too_small == []
    assert min(b.font_size for b in scene.beats) >= MIN_FONT_SIZE - 1e-6
    assert MathTex("x", font_size=MIN_FONT_SIZE).height * PX_PER_UNIT_720P >= 10


def test_the_chain_stays_on_screen_dimmed(timelines):
    """At the end the last section's lines are all on screen, inside the frame, earlier ones dimmed."""
    from manim import MathTex

    scene = timelines["softmax", "normal"]
    lines = [m for m in scene.mobjects for m in m.get_family() if isinstance(m, MathTex) and hasattr(m, "font")]
    examples = [s for sec, _, s in registry.build("softmax").all_steps() if sec == "example"]
    assert len(lines) >= min(3, len(examples))
    opacities = [max(g.get_fill_opacity() for g in line.family_members_with_points()) for line in lines]
    assert opacities[-1] == pytest.approx(1) and all(o < 0.6 for o in opacities[:-1])
    for line in lines:
        assert abs(line.get_x()) + line.width / 2 <= 7.11 and line.get_top()[1] <= 4


def test_chapters_name_every_step(timelines):
    scene = timelines["softmax", "normal"]
    titles = [title for _, title in scene.chapters]
    assert titles[0] == "summary" and len(titles) == len(scene.beats)
    assert [t.split(":")[0] for t in titles[1:]] == [b.label for b in scene.beats[1:]]
    starts = [start for start, _ in scene.chapters]
    assert starts == sorted(starts)


def test_webvtt_chapters():
    from explainer.scenes.helpers import webvtt_chapters

    text = webvtt_chapters([(0.0, "summary"), (61.25, "step 1: x")], 3725.5)
    assert text == ("WEBVTT\n\n1\n00:00:00.000 --> 00:01:01.250\nsummary\n\n"
                    "2\n00:01:01.250 --> 01:02:05.500\nstep 1: x\n")


def test_reading_rule():
    assert reading_seconds("a b c") == 2.0 and reading_seconds(" ".join("w" * 20)) == pytest.approx(6.0)
    assert formula_seconds(0) == 0 and formula_seconds(25) == pytest.approx(1.5) and formula_seconds(10**4) == 6


def test_bad_pace_and_voice_on_a_topic_scene_are_usage_errors(tmp_path):
    with pytest.raises(rendering.UsageError, match="unknown pace"):
        rendering.render("derivation:softmax", pace="ludicrous", output=tmp_path)
    with pytest.raises(rendering.UsageError, match="--voice narrates derivation videos"):
        rendering.render("softmax-scaling", voice=True, output=tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("name", [e.name for e in registry.entries()])
def test_every_derivation_is_paced_and_legible(name, glyph_dirs):
    scene = rendering.dry_run(f"derivation:{name}", overrides=glyph_dirs)
    for beat in scene.beats[1:]:
        assert beat.end - beat.still >= words_needed(beat.caption) + formula_seconds(beat.glyphs) - 1e-6
    assert scene.too_small == [], f"{name}: lines below {MIN_FONT_SIZE}: {scene.too_small}"


def test_captions_are_spoken_as_words():
    from explainer.scenes.narration import speakable

    assert speakable("xⱼ − m ≤ 0, QKᵀ/√d_k") == "x j minus m is at most 0, QK transpose over square root of d k"


@pytest.mark.slow
@pytest.mark.skipif(not __import__("shutil").which("espeak-ng"), reason="espeak-ng is not installed")
def test_voice_sets_the_time_when_speech_is_longer(tmp_path, glyph_dirs):
    """With --voice every step lasts at least as long as its spoken caption (a WAV from espeak-ng)."""
    from explainer.scenes.narration import speak

    scene = rendering.dry_run("derivation:softmax", voice=True, pace="fast",
                              overrides={**glyph_dirs, "media_dir": str(tmp_path)})
    for beat in scene.beats:
        _, seconds = speak(beat.caption, tmp_path / "voice")
        assert seconds > 0.5
        assert beat.end - beat.start >= seconds + 0.4 - 1e-6, beat.label
