"""Markdown printer: headings, a symbols table and ``$$`` display math (docs, notebooks, GitHub)."""
from __future__ import annotations

from explainer.formats.latex import latex, step_latex, where_latex
from explainer.formats.steps import sections, status_text


def render(d, report=None) -> str:
    """The derivation as a Markdown document."""
    out = [f"## {d.title}", "", f"`{d.name}` · topic: *{d.topic}*", "", d.summary, ""]
    if d.symbols:
        out += ["**Symbols**", "", "| symbol | meaning | shape |", "|---|---|---|"]
        out += [f"| ${latex(s.symbol)}$ | {s.meaning} | {s.shape or 'scalar'} |" for s in d.symbols]
        out.append("")
    if d.assumptions:
        out += ["**Assumptions**", ""] + [f"- {a}" for a in d.assumptions] + [""]
    parts = sections(d, report)
    for heading, key in (("Steps", "step"), ("Result", "result"),
                         (f"Worked example{': ' + d.example_title if d.example_title else ''}", "example")):
        if not parts[key]:
            continue
        out += [f"**{heading}**", ""]
        for line in parts[key]:
            left, right = step_latex(line.step)
            status = status_text(line.result)
            tag = f" — *{status}*" if status else ""
            out += [f"{line.number}. {line.step.why}{tag}", "", f"$${left} {right.lstrip('&')}$$", ""]
            out += [f"   where ${w}$" for w in where_latex(line.step)] + ([""] if line.step.where else [])
    out += [f"> {n}" for n in d.notes]
    return "\n".join(out).rstrip() + "\n"
