"""`instructalign report`: eval runs read and compared, the output folder written whole — one report, or one
per task when the runs are eval outputs that scored several tasks (OUTPUT/<task>/)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ..config import ReportConfig, as_dict
from ..errors import UserError
from ..outputs import check_output, mark_owner, owned_output, replaced_folder
from .build import make_report
from .render import write_report
from .runs import run_tasks


def report(cfg: ReportConfig) -> list[Path]:
    """Write the report(s) into --output; the report.html of each."""
    if not cfg.output:
        raise UserError("no --output folder given")
    out = Path(cfg.output)
    folders = [d for spec in cfg.run for d in spec.partition("=")[2].split(",")]
    inputs = [("--run", d) for d in folders] + [("--similarity-data", cfg.similarity_data)]
    check_output(out, inputs, replaces=True)
    settings = {k: v for k, v in as_dict(cfg).items() if k not in ("output", "overwrite")}
    tasks = [] if cfg.task else run_tasks(cfg.run)
    with owned_output(out, "report", settings, cfg.overwrite), replaced_folder(out) as tmp:
        for task in tasks or [cfg.task]:
            built = make_report(replace(cfg, task=task))
            say_roles(built)
            write_report(built, tmp / task if tasks else tmp)
        mark_owner(tmp, "report", settings)
    pages = [out / task / "report.html" for task in tasks] or [out / "report.html"]
    print(f"report: {', '.join(map(str, pages))} (and report.md)")
    return pages


def say_roles(built: dict) -> None:
    """On the console: where the language groups came from, or that there are none."""
    if not built["roles"]:
        print(f"warning: {built['task']}: no language groups (give --roles): no group means or verdicts")
    elif built["roles_from"] != "--roles":
        print(f"{built['task']}: language groups from {built['roles_from'].replace('`', '')}")
