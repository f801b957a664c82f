"""The built-in demo: the sample mail_logs explained end to end, one ticket per question.

Writes into one folder: a ticket (HTML), the JSON and the terminal text for every question of
diagnose/sample/questions.yaml, the overview of everything not delivered that day, and an index.
Offline by design: the demo makes no DNS query.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
import yaml

from diagnose.model import InputError
from diagnose.resources import data_dir

SAMPLE = Path(__file__).resolve().parent / "sample"


@dataclass
class DemoEntry:
    id: str
    heard: str
    ask: dict[str, Any]
    outcome: str
    stage: str
    confidence: str
    summary: str
    files: dict[str, str] = field(default_factory=dict)


@dataclass
class DemoResult:
    output: Path
    entries: list[DemoEntry]
    overview: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"output": str(self.output), "overview": self.overview,
                "questions": [e.__dict__ for e in self.entries]}


def sample_logs() -> Path:
    logs = SAMPLE / "mail_logs"
    if not logs.is_file():
        raise InputError(f"the built-in sample is missing ({logs}); reinstall esa-diagnose")
    return logs


def questions() -> list[dict[str, Any]]:
    with (SAMPLE / "questions.yaml").open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def default_output(cwd: Path | None = None) -> Path:
    """A new folder in the current directory, never one that exists already."""
    base = (cwd or Path.cwd()) / f"esa-diagnose-demo-{datetime.now():%Y%m%d-%H%M%S}"
    out, n = base, 1
    while out.exists():
        n += 1
        out = base.with_name(f"{base.name}-{n}")
    return out


def _ask_label(ask: dict[str, Any]) -> str:
    return " ".join(f"--{k.replace('_', '-')} {v}" for k, v in ask.items())


def run_demo(output: str | Path | None = None, *, on_answer: Any = None) -> DemoResult:
    """Explain every demo question into `output` (default: a new folder here)."""
    from diagnose import api, batchjob
    from diagnose.commands.explain import render_text
    from diagnose.reports import ticket_html

    logs = sample_logs()
    out = Path(output) if output else default_output()
    if out.exists() and not out.is_dir():
        raise InputError(f"--output {out}: exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)

    result = DemoResult(output=out, entries=[])
    for q in questions():
        answer = api.explain([str(logs)], offline=True, **q["ask"])
        top = answer.findings[0]
        stem = f"{q['id']}-{'-'.join(f'{k}-{v}' for k, v in q['ask'].items())}"
        stem = "".join(c if c.isalnum() or c in "-._" else "_" for c in stem)
        files = {"html": f"{stem}.html", "json": f"{stem}.json", "text": f"{stem}.txt"}
        (out / files["html"]).write_text(ticket_html(answer), encoding="utf-8")
        (out / files["json"]).write_text(json.dumps(answer.to_json(), indent=2, default=str), encoding="utf-8")
        (out / files["text"]).write_text(render_text(answer), encoding="utf-8")
        entry = DemoEntry(id=q["id"], heard=q["heard"], ask=q["ask"], outcome=top.outcome, stage=top.stage,
                          confidence=top.confidence, summary=top.summary, files=files)
        result.entries.append(entry)
        if on_answer:
            on_answer(entry)

    # The Monitor-style overview: everything in the sample that was not delivered.
    overview = api.batch(logs=[str(logs)], workers=1)
    with (out / "overview.html").open("w", encoding="utf-8") as fh:
        batchjob.write_html(overview, fh, title="Not delivered in the demo sample")
    result.overview = "overview.html"

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(data_dir("reports"))),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    html = env.get_template("demo_index.html.j2").render(
        entries=result.entries, ask_label=_ask_label, overview=result.overview, logs=logs.name,
        generated=datetime.now().strftime("%Y-%m-%d %H:%M"))
    (out / "index.html").write_text(html, encoding="utf-8")
    (out / "demo.json").write_text(json.dumps(result.to_json(), indent=2), encoding="utf-8")
    return result
