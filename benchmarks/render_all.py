"""Every video's length and first-render time, at each quality asked, through ``explainer render``.

Each video is rendered once per quality, in a fresh process, with an empty cache (``--no-cache`` and
a new ``EXPLAINER_CACHE_DIR``), exactly as a user's first ``explainer render NAME --quality Q`` would.
Recorded: wall seconds, CPU seconds (the render and its LaTeX/dvisvgm/ffmpeg children), the video's
length read from the mp4 with PyAV, and whether the subtitle (``.srt``) and, for a derivation video,
the chapters file (``.chapters.vtt``) were written beside it. Wall seconds include any wait for
another job on the machine (the load average is recorded with each row); CPU seconds do not. Rows
are appended to a JSON-lines file as they finish, so an interrupted run resumes where it stopped;
``--table`` prints what is recorded.

    .venv/bin/python -m benchmarks.render_all --quality low medium --record results.jsonl
    .venv/bin/python -m benchmarks.render_all --quality medium --record results.jsonl derivation:softmax
    .venv/bin/python -m benchmarks.render_all --table --record results.jsonl
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from explainer import registry, scenes


def every_video() -> list[str]:
    """The topic scenes, then one derivation video per registered derivation."""
    topics = [n for n in scenes.available() if not n.startswith(scenes.DERIVATION_PREFIX)]
    return topics + [f"{scenes.DERIVATION_PREFIX}{e.name}" for e in registry.entries()]


def children_cpu() -> float:
    """CPU seconds of every finished child process (and the children they waited for)."""
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return kids.ru_utime + kids.ru_stime


def video_seconds(path: Path) -> float:
    """Length of the video stream of ``path`` in seconds."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return float(stream.duration * stream.time_base) if stream.duration else container.duration / av.time_base


def commit() -> str:
    """The commit of the tree the engine is imported from (with "+" when it has changes)."""
    root = Path(__file__).resolve().parents[1]
    git = ["git", "-C", str(root)]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run([*git, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout
    return head + ("+" if dirty.strip() else "")


def render_once(name: str, quality: str, keep: Path | None = None) -> dict:
    """Render ``name`` at ``quality`` with an empty cache in a new ``explainer render`` process (the
    video and its subtitles written to ``keep/quality/NAME/`` when given, else thrown away). Each
    render has its own output folder: ``explainer render`` locks its output folder, so two runs
    sharing one would wait for each other and count the wait as render time."""
    with tempfile.TemporaryDirectory(prefix="explainer-render-all-") as root:
        out = keep / quality / scenes.slug(name) if keep else Path(root) / "out"
        env = {**os.environ, "EXPLAINER_CACHE_DIR": str(Path(root) / "cache")}
        command = [str(Path(sys.executable).with_name("explainer")), "render", name, "--quality", quality,
                   "--no-cache", "--output", str(out)]
        wall, cpu = time.perf_counter(), children_cpu()
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        row = {"name": name, "quality": quality, "wall": time.perf_counter() - wall, "cpu": children_cpu() - cpu,
               "rc": done.returncode, "load": os.getloadavg()[0], "commit": commit()}
        if done.returncode:
            return {**row, "error": (done.stderr or done.stdout).strip().splitlines()[-1:]}
        video = out / f"{scenes.slug(name)}.mp4"
        chapters = video.with_suffix(".chapters.vtt")
        return {**row, "length": video_seconds(video), "srt": video.with_suffix(".srt").is_file(),
                "chapters": chapters.is_file() if name.startswith(scenes.DERIVATION_PREFIX) else None}


def recorded(record: Path) -> list[dict]:
    """The rows in ``record`` (none when it does not exist yet)."""
    if not record.is_file():
        return []
    return [json.loads(line) for line in record.read_text().splitlines() if line.strip()]


def table(rows: list[dict]) -> str:
    """A Markdown table: one line per video, its length (at the first quality listed; a lower frame
    rate rounds still waits up to whole frames differently, by under a second) and, at each quality,
    wall / CPU seconds and the load average when the render ended. A later row for the same video
    and quality replaces an earlier one."""
    qualities = list(dict.fromkeys(r["quality"] for r in rows))
    by = {(r["name"], r["quality"]): r for r in rows}
    names = [n for n in every_video() if any((n, q) in by for q in qualities)]
    lines = ["| video | length | " + " | ".join(f"{q}: wall / CPU s (load)" for q in qualities)
             + " | subtitles, chapters |", "|---|---:|" + "---:|" * len(qualities) + "---|"]
    for name in names:
        done = [by[name, q] for q in qualities if (name, q) in by and not by[name, q]["rc"]]
        cells = []
        for q in qualities:
            r = by.get((name, q))
            cells.append("–" if r is None else f"failed ({r['rc']})" if r["rc"]
                         else f"{r['wall']:.1f} / {r['cpu']:.1f} ({r['load']:.1f})")
        length = f"{done[0]['length']:.1f} s" if done else "–"
        files = {("srt" if r["srt"] else "no srt") + ("" if r["chapters"] is None else ", vtt" if r["chapters"]
                                                      else ", no vtt") for r in done}
        lines.append(f"| {name} | {length} | " + " | ".join(cells) + f" | {'; '.join(sorted(files)) or '–'} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="videos to render (default: every scene and derivation video)")
    parser.add_argument("--quality", nargs="+", default=["low"], choices=["low", "medium", "high"])
    parser.add_argument("--record", type=Path, required=True, help="JSON-lines file the rows are appended to")
    parser.add_argument("--table", action="store_true", help="only print the table of what is recorded")
    parser.add_argument("--keep", type=Path, help="keep the videos in KEEP/QUALITY/NAME/ (to look at their frames)")
    args = parser.parse_args()
    if not args.table:
        done = {(r["name"], r["quality"]) for r in recorded(args.record) if not r["rc"]}
        for quality in args.quality:
            for name in args.names or every_video():
                if (name, quality) in done:
                    continue
                row = render_once(name, quality, args.keep)
                with args.record.open("a") as f:
                    f.write(json.dumps(row) + "\n")
                print(f"{name:<45}{quality:<8}{row.get('length', 0):7.1f}s{row['wall']:8.1f}s{row['cpu']:8.1f}s"
                      f"  load {row['load']:.1f}" + (f"  FAILED {row.get('error')}" if row["rc"] else ""), flush=True)
    print(table(recorded(args.record)))


if __name__ == "__main__":
    main()
