"""Render scenes to files: check the tools first, render into a cache, move the result into place.

Manim writes its partial movies and compiled LaTeX into a cache folder (so a second render of an
unchanged scene reuses them), and a finished file is kept there too under a key made of the scene's
sources and settings (so re-rendering an unchanged scene copies it); only the finished file is copied to the output folder, under a temporary
name first and then renamed, so a failed render never leaves a half-written file at the output path.
"""
from __future__ import annotations

import fcntl
import functools
import hashlib
import importlib
import importlib.util
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

from explainer import scenes
from explainer.doctor import APT, PIP, latex_tools
from explainer.errors import MissingTool, UsageError

QUALITIES = {"low": "low_quality", "medium": "medium_quality", "high": "high_quality", "4k": "fourk_quality"}
FORMATS = ("mp4", "gif", "png")
SIDECARS = (".srt", ".chapters.vtt")  # subtitles (one cue per caption) and WebVTT chapters, next to a video
CONFIG_FILE = Path(scenes.__file__).with_name("manim.cfg")
INSTALL_MANIM = f"{APT} libcairo2-dev libpango1.0-dev pkg-config && {PIP} 'transformer-math-explainer[render]'"
INSTALL_LATEX = f"{APT} texlive-latex-base texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended"


def require_tools() -> None:
    """Raise :class:`MissingTool` (exit 2, with the install command) unless manim, latex and dvisvgm exist."""
    if importlib.util.find_spec("manim") is None:
        raise MissingTool("manim", "render", INSTALL_MANIM)
    tools = latex_tools()
    if not tools["latex"]:
        raise MissingTool("LaTeX (latex)", "render (formulas in videos)", INSTALL_LATEX)
    if not tools["dvisvgm"]:
        raise MissingTool("dvisvgm", "render (formulas in videos)", f"{APT} dvisvgm")


def output_dir(path: str | os.PathLike) -> Path:
    """``path`` created if needed and proven writable, else a :class:`UsageError` that says why."""
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".explainer-probe-"):
            pass
    except OSError as exc:
        raise UsageError(f"cannot write to output folder {str(out)!r}: {exc.strerror or exc}") from None
    return out


def default_cache_dir() -> Path:
    """Where Manim keeps partial movies and compiled LaTeX between runs: ``manim/`` in the explainer's
    cache folder (:func:`explainer.cache.directory`), a fresh temporary folder when caching is off (the
    caller removes it; :func:`render` does)."""
    from explainer.cache import directory

    folder = directory()
    return folder / "manim" if folder else Path(tempfile.mkdtemp(prefix="explainer-manim-"))


def _guarded(render_scene: Callable[..., Path]) -> Callable[..., Path]:
    """``render`` made safe to run twice at once and to fail clearly.

    Renders sharing a cache folder take turns (a lock file there: Manim's LaTeX and partial-movie
    files are not written atomically, and it deletes other files of its LaTeX folder), renders into
    one output folder take turns too (a lock on the folder), a render without a cache works in a
    private temporary folder that is removed afterwards, a cache folder or an output path that cannot
    be used is a :class:`UsageError` saying what to do, and a failed LaTeX run is one too (its error line
    and ``explainer doctor``) instead of Manim's exception.
    """

    @functools.wraps(render_scene)
    def render(name: str, *, fmt: str = "mp4", output: str | os.PathLike = "media",
               cache_dir: str | os.PathLike | None = None, **options) -> Path:
        from explainer.cache import directory

        target = Path(output) / f"{scenes.slug(name)}.{fmt}"
        if target.is_dir():
            raise UsageError(f"cannot write {str(target)!r}: a folder of that name is in the way; remove it or "
                             "choose another --output")
        private = cache_dir is None and directory() is None
        media = Path(tempfile.mkdtemp(prefix="explainer-manim-")) if private else Path(cache_dir or default_cache_dir())
        try:
            with _taking_turns(media, private), _taking_turns(output_dir(output), True), _latex_errors(media):
                return render_scene(name, fmt=fmt, output=output, cache_dir=media, **options)
        finally:
            if private:
                shutil.rmtree(media, ignore_errors=True)

    return render


@contextmanager
def _taking_turns(folder: Path, is_output: bool):
    """Hold an exclusive lock on ``folder`` (an output folder itself; a cache folder through its
    ``.lock`` file, created with the folder) until the block ends; other renders wait for it."""
    try:
        if is_output:
            fd = os.open(folder, os.O_RDONLY)
        else:
            folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise UsageError(f"cannot use the render cache {str(folder)!r} ({exc.strerror or exc}); set "
                         "EXPLAINER_CACHE_DIR to a writable folder, or EXPLAINER_CACHE_DIR=off to render "
                         "without a cache") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


@contextmanager
def _latex_errors(media: Path):
    """Turn Manim's exception for a failed LaTeX run into a :class:`UsageError` with the log's error line."""
    import traceback

    try:
        yield
    except Exception as exc:  # raised while Manim ran LaTeX (or read its log), or something else
        if not any(f.filename.endswith("tex_file_writing.py") for f in traceback.extract_tb(exc.__traceback__)):
            raise
        raise UsageError(f"LaTeX failed while rendering a formula: {_latex_error_line(str(exc), media)}. "
                         "Check the LaTeX install with 'explainer doctor'") from None


def _latex_error_line(message: str, media: Path) -> str:
    """The first ``! …`` line of the newest LaTeX log under ``media`` (or Manim's own message)."""
    logs = sorted(media.rglob("*.log"), key=lambda p: p.stat().st_mtime)
    for log in reversed(logs):
        errors = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.startswith("!")]
        if errors:
            return f"{errors[0]} (log: {log})"
    return message.split(". ")[0]


@_guarded
def render(name: str, *, quality: str = "low", fmt: str = "mp4", output: str | os.PathLike = "media",
           cache_dir: str | os.PathLike | None = None, caching: bool = True, overrides: dict | None = None,
           on_progress: Callable[[float, float], None] | None = None, pace: str = "normal",
           voice: bool = False) -> Path:
    """Render the scene ``name`` and return the path of the finished file ``output/<name>.<fmt>``.

    A video gets its subtitles ``<name>.srt`` (and, for a scene with chapters, ``<name>.chapters.vtt``)
    beside it (:func:`sidecars`). ``pace`` (slow, normal, fast) scales how long the scene holds still
    to be read; ``voice`` narrates a derivation video's captions with espeak-ng. ``overrides`` are
    Manim config values applied last (tests set ``pixel_width``, ``pixel_height`` and ``frame_rate``
    there). ``on_progress(done, total)`` is called after every animation with the seconds of video
    rendered so far and in all (a dry run measures the total first).
    """
    scene_class, settings = _prepared(name, quality, fmt, cache_dir, caching, overrides, pace, voice)
    out = output_dir(output)
    finished = Path(settings["media_dir"]) / "finished" / f"{_key(name, settings, pace, voice)}.{fmt}"
    if caching and finished.is_file():  # the same sources and settings made this file before
        produced = finished
        if on_progress:
            on_progress(1.0, 1.0)
    else:
        total = _duration(scene_class, settings) if on_progress else 0.0
        produced = _render_class(_reporting(scene_class, on_progress, total) if on_progress else scene_class,
                                 settings)
        if caching:
            _store(produced, finished)
    target = out / f"{scenes.slug(name)}.{fmt}"
    for suffix in ("", *SIDECARS):
        source, destination = _sidecar(produced, suffix), _sidecar(target, suffix)
        if suffix and not source.is_file():
            destination.unlink(missing_ok=True)  # a stale file of an earlier render would not match
            continue
        partial = out / f".{destination.name}.partial"
        try:
            shutil.copyfile(source, partial)
            os.replace(partial, destination)
        finally:
            partial.unlink(missing_ok=True)
    return target


def sidecars(video: str | os.PathLike) -> dict[str, Path]:
    """The files next to ``video`` that belong to it: ``{"subtitles": …, "chapters": …}`` (those that exist)."""
    found = {kind: _sidecar(Path(video), suffix) for kind, suffix in zip(("subtitles", "chapters"), SIDECARS)}
    return {kind: path for kind, path in found.items() if path.is_file()}


def dry_run(name: str, *, quality: str = "low", pace: str = "normal", voice: bool = False, overrides=None):
    """The scene ``name`` after a dry run (construct runs and every animation jumps to its end; no frame
    is drawn, no file written): its timeline (a derivation scene's ``beats``, every scene's
    ``chapters``), the mobjects on screen at the end and their sizes."""
    scene_class, settings = _prepared(name, quality, "mp4", None, True, overrides, pace, voice)
    return _dry_scene(scene_class, settings, animate=True)


def _prepared(name: str, quality: str, fmt: str, cache_dir, caching: bool, overrides, pace: str, voice: bool):
    """``(scene class with its pace and voice, Manim settings)`` after checking every option and tool."""
    from explainer.scenes.pacing import PACES

    if quality not in QUALITIES:
        raise UsageError(f"unknown quality {quality!r}; use one of {', '.join(QUALITIES)}")
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if pace not in PACES:
        raise UsageError(f"unknown pace {pace!r}; use one of {', '.join(PACES)}")
    _, derivation = scenes.resolve(name)
    if voice and derivation is None:
        raise UsageError(f"--voice narrates derivation videos (derivation:NAME), not {name!r}")
    require_tools()
    if voice and shutil.which("espeak-ng") is None:
        raise MissingTool("espeak-ng", "render --voice (narration)", f"{APT} espeak-ng")
    scene_class = scenes.load(name)
    scene_class = type(scene_class.__name__, (scene_class,), {"pace": PACES[pace], "voice": voice})
    settings = {"quality": QUALITIES[quality], "media_dir": str(cache_dir or default_cache_dir()),
                "disable_caching": not caching, "progress_bar": "none", "verbosity": "WARNING",
                "output_file": scenes.slug(name), **_format_settings(fmt), **(overrides or {})}
    return scene_class, settings


def _sidecar(video: Path, suffix: str) -> Path:
    """``video`` itself (``suffix`` empty) or the file of that suffix beside it (``a.mp4`` -> ``a.srt``)."""
    return video.with_suffix(suffix) if suffix else video


SOURCES = ("explainer.scenes", "explainer.derivations", "explainer")  # packages whose code decides what a scene shows


def _key(name: str, settings: dict, pace: str = "normal", voice: bool = False) -> str:
    """SHA-256 of the scene name, the settings, pace and voice, Manim's version and every source file
    that a scene's content depends on: the same key means the same video."""
    from importlib import metadata

    h = hashlib.sha256(f"{name}\0{sorted(settings.items())!r}\0{pace}\0{voice}\0{metadata.version('manim')}"
                       .encode())
    for package in SOURCES:  # found where they are: a checkout's top-level folders or the installed package
        root = Path(importlib.import_module(package).__path__[0])
        for path in sorted(root.rglob("*.py")) + sorted(root.rglob("*.cfg")):
            h.update(f"{package}/{path.relative_to(root)}".encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def _store(produced: Path, finished: Path) -> None:
    """Keep a copy of a finished file and its sidecars in the cache (each written under a temporary name,
    then renamed; the video last, so a cached video always has its sidecars)."""
    finished.parent.mkdir(parents=True, exist_ok=True)
    for suffix in (*SIDECARS, ""):
        source, destination = _sidecar(produced, suffix), _sidecar(finished, suffix)
        if source.is_file():
            partial = finished.with_name(f".{destination.name}.partial")
            shutil.copyfile(source, partial)
            os.replace(partial, destination)


def _format_settings(fmt: str) -> dict:
    if fmt == "png":
        return {"save_last_frame": True, "write_to_movie": False, "format": "png"}
    return {"save_last_frame": False, "write_to_movie": True, "format": fmt}


def _render_class(scene_class, settings: dict) -> Path:
    """Render ``scene_class`` under ``settings`` (manim.cfg first) and return the file Manim wrote."""
    from manim import config, tempconfig

    with tempconfig({}):
        config.verbosity = settings.get("verbosity", "WARNING")  # before the file, whose reading is logged
        config.digest_file(str(CONFIG_FILE))
        for key, value in settings.items():
            setattr(config, key, value)
        scene = scene_class()
        scene.render()
        return Path(scene.renderer.file_writer.output_plan.primary_artifact)


def _duration(scene_class, settings: dict) -> float:
    """Seconds of video ``scene_class`` makes, from a dry run: construct runs, and every ``play`` (a
    ``wait`` too) only adds up its run time, starting no animation and drawing no frame. Formulas
    compiled here are in the LaTeX cache for the real run, and the scenes' helpers keep the mobjects
    they built (``scenes.helpers.made``), so the real run does not build them again."""
    return float(_dry_scene(scene_class, settings).renderer.time)


def _dry_scene(scene_class, settings: dict, animate: bool = False):
    """``scene_class`` after a dry run (see :func:`_duration`); with ``animate`` each animation is begun
    and finished at once (Manim's skipping), so the scene ends with what its video ends with."""
    from manim import config, tempconfig

    def play(self, *args, **kwargs):
        self.renderer.time += self.get_run_time(self.compile_animations(*args, **kwargs))

    with tempconfig({}):
        config.verbosity = settings.get("verbosity", "WARNING")  # before the file, whose reading is logged
        config.digest_file(str(CONFIG_FILE))
        for key, value in settings.items():
            setattr(config, key, value)
        config.dry_run = True
        scene = (scene_class if animate else type(scene_class.__name__, (scene_class,), {"play": play}))(
            skip_animations=True)
        scene.render()
        return scene


def _reporting(scene_class, on_progress: Callable[[float, float], None], total: float):
    """``scene_class`` with ``play`` reporting the seconds rendered so far after each animation."""

    def play(self, *args, **kwargs):
        scene_class.play(self, *args, **kwargs)
        on_progress(self.renderer.time, total)

    return type(scene_class.__name__, (scene_class,), {"play": play})
