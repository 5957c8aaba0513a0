"""``explainer scenes`` / ``explainer render``: names, bad input, missing tools, atomic output."""
from __future__ import annotations

import subprocess
import sys

import av
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from explainer import scenes
from explainer import render as rendering
from explainer.cli import cli

TINY = {"pixel_width": 160, "pixel_height": 90, "frame_rate": 5}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_scenes_lists_every_scene_without_importing_manim():
    code = ("import sys; from explainer.cli import main; sys.argv = ['explainer', 'scenes']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('MANIM' if 'manim' in sys.modules else 'NO-MANIM')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("NO-MANIM")
    for name in ("dot-product-alignment", "positional-encoding-waves", "attention-weights", "derivation:NAME"):
        assert name in out
    assert "softmax" in out  # the derivations NAME can be


def test_unknown_scene_exits_2_with_suggestions(runner):
    result = runner.invoke(cli, ["render", "dot-prodct-alignment"])
    assert result.exit_code == 2
    assert "did you mean: dot-product-alignment" in result.output
    result = runner.invoke(cli, ["render", "derivation:sofmax"])
    assert result.exit_code == 2 and "softmax" in result.output


def test_no_scene_named_is_a_usage_error(runner):
    assert runner.invoke(cli, ["render"]).exit_code == 2


def test_missing_latex_exits_2_with_install_command_before_rendering(runner, tmp_path, monkeypatch):
    monkeypatch.setattr(rendering, "latex_tools", lambda: {"latex": None, "dvisvgm": "/usr/bin/dvisvgm"})
    called = []
    monkeypatch.setattr(rendering, "render", lambda *a, **k: called.append(a))
    result = runner.invoke(cli, ["render", "softmax-scaling", "--output", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "apt-get install" in result.output and "texlive" in result.output
    assert not called and not (tmp_path / "out").exists()


def test_missing_manim_exits_2(runner, monkeypatch):
    real = rendering.importlib.util.find_spec
    monkeypatch.setattr(rendering.importlib.util, "find_spec", lambda n, *a: None if n == "manim" else real(n, *a))
    result = runner.invoke(cli, ["render", "softmax-scaling"])
    assert result.exit_code == 2 and "transformer-math-explainer[render]" in result.output


def test_unwritable_output_is_a_clear_error(runner, tmp_path):
    (tmp_path / "file").write_text("x")
    result = runner.invoke(cli, ["render", "softmax-scaling", "--output", str(tmp_path / "file" / "videos")])
    assert result.exit_code == 2
    assert "cannot write to output folder" in result.output


def test_output_that_is_a_file_is_a_clear_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(rendering.UsageError, match="cannot write to output folder"):
        rendering.output_dir(tmp_path / "file")


@pytest.fixture
def tiny(glyph_dirs) -> dict:
    """Manim config for a tiny render, with the shared formula and text caches (conftest.py)."""
    return {**TINY, **glyph_dirs}


def test_failed_render_leaves_no_file(tmp_path, monkeypatch):
    pytest.importorskip("manim")
    from explainer.scenes import dot_products

    def broken(self):
        raise RuntimeError("boom in the middle of a scene")

    monkeypatch.setattr(dot_products.DotProductAlignment, "construct", broken)
    with pytest.raises(RuntimeError, match="boom"):
        rendering.render("dot-product-alignment", output=tmp_path, cache_dir=tmp_path / "cache", overrides=TINY)
    assert [p.name for p in tmp_path.iterdir() if p.name != "cache"] == []


def test_render_png_through_the_cli_prints_the_path(runner, tmp_path, monkeypatch, tiny):
    """The last frame as PNG: the right size, not blank; the path printed on stdout."""
    pytest.importorskip("manim")
    monkeypatch.setenv("EXPLAINER_CACHE_DIR", str(tmp_path / "cache"))
    real = rendering.render
    monkeypatch.setattr(rendering, "render", lambda *a, **k: real(*a, **k, overrides=tiny))
    result = runner.invoke(cli, ["render", "softmax-scaling", "--format", "png", "--output", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    path = tmp_path / "o" / "softmax-scaling.png"
    assert str(path) in result.output
    image = np.asarray(Image.open(path).convert("RGB"), dtype=float)
    assert image.shape == (90, 160, 3)
    assert image.std() > 8


def test_bad_quality_and_format_are_usage_errors(tmp_path):
    with pytest.raises(rendering.UsageError):
        rendering.render("softmax-scaling", quality="ultra", output=tmp_path)
    with pytest.raises(rendering.UsageError):
        rendering.render("softmax-scaling", fmt="webm", output=tmp_path)


def test_registry_resolves_names_without_manim():
    assert scenes.resolve("attention-weights") == ("explainer.scenes.attention:AttentionWeights", None)
    assert scenes.resolve("derivation:softmax") == (scenes.DERIVATION_SCENE, "softmax")
    assert scenes.slug("derivation:softmax") == "derivation-softmax"


def test_gif_is_a_gif(tmp_path, glyph_dirs):
    pytest.importorskip("manim")
    path = rendering.render("softmax-scaling", fmt="gif", output=tmp_path, cache_dir=tmp_path / "cache",
                            overrides={"pixel_width": 64, "pixel_height": 36, "frame_rate": 2, **glyph_dirs})
    assert path.read_bytes()[:6] in (b"GIF87a", b"GIF89a")
    with av.open(str(path)) as container:
        assert container.streams.video[0].width == 64


def test_unchanged_scene_is_copied_from_the_finished_cache(tmp_path, monkeypatch, tiny):
    pytest.importorskip("manim")
    first = rendering.render("softmax-scaling", fmt="png", output=tmp_path / "a", cache_dir=tmp_path / "cache",
                             overrides=tiny)

    def no_manim(*args, **kwargs):
        raise AssertionError("Manim ran although the finished file was cached")

    monkeypatch.setattr(rendering, "_render_class", no_manim)
    again = rendering.render("softmax-scaling", fmt="png", output=tmp_path / "b", cache_dir=tmp_path / "cache",
                             overrides=tiny)
    assert again.read_bytes() == first.read_bytes()
    with pytest.raises(AssertionError, match="Manim ran"):  # other settings: another key, a real render
        rendering.render("softmax-scaling", fmt="png", output=tmp_path / "c", cache_dir=tmp_path / "cache",
                         overrides={**tiny, "pixel_width": 170})


def test_all_plus_named_derivation_renders_both(runner, tmp_path, monkeypatch):
    """``--all derivation:softmax``: every scene and the derivation, each once, in that order."""
    monkeypatch.setattr(rendering, "require_tools", lambda: None)
    rendered = []

    def fake(name, **kwargs):
        rendered.append(name)
        (tmp_path / f"{scenes.slug(name)}.mp4").write_bytes(b"")
        return tmp_path / f"{scenes.slug(name)}.mp4"

    monkeypatch.setattr(rendering, "render", fake)
    result = runner.invoke(cli, ["render", "--all", "derivation:softmax", "softmax-scaling", "--output", str(tmp_path)])
    assert result.exit_code == 0, result.output
    named = [n for n in scenes.available() if not n.startswith(scenes.DERIVATION_PREFIX)]
    assert rendered == named + ["derivation:softmax"]
    assert str(tmp_path / "derivation-softmax.mp4") in result.output


def test_dry_run_measures_the_video_length(tmp_path, tiny):
    """The progress bar's total (a dry run that draws no frame) is the length of the video made."""
    pytest.importorskip("manim")
    seen = []
    path = rendering.render("cross-entropy", output=tmp_path, cache_dir=tmp_path / "cache", caching=False,
                            overrides=tiny, on_progress=lambda done, total: seen.append((done, total)))
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        duration = float(stream.duration * stream.time_base)
    total = seen[0][1]
    assert total == pytest.approx(duration, abs=0.25)
    assert all(t == total for _, t in seen) and seen[-1][0] == pytest.approx(total, abs=0.25)  # whole frames
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
