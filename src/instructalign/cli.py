"""`instructalign` command line: each subcommand's flags come from its config dataclass, and it calls one
function.

User mistakes raise `UserError` and end here as one line on stderr with exit code 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from . import __version__, demo, study
from .config import CONFIGS, Recipe
from .configfile import load_config, read_recipe
from .data.build import build
from .data.download import SOURCES, download
from .data.stats import print_stats
from .errors import UserError
from .experiment.recipe import preset
from .export.card import add_results
from .files import cache_dir
from .flags import add_flags, allow_negative_numbers, overrides
from .merge import merge
from .process import exit_without_final_collection, tune_process
from .report.run import report
from .synth.run import synth_replay
from .vocab.audit import audit
from .vocab.extend import extend


@dataclass(frozen=True)
class Command:
    """A subcommand on top of its config section (`config.CONFIGS`: its flags, YAML section and README rows):
    where it sits (`data build` is ("data", "build")) and the function it runs (its docstring: the help)."""

    path: tuple[str, ...]
    run: Callable

    @property
    def help(self) -> str:
        text = first_paragraph(self.run.__doc__).rstrip(".")
        return text[:1].lower() + text[1:]


GROUPS = {  # parent commands that only hold subcommands
    "data": "build and inspect training data",
    "vocab": "a tokenizer's vocabulary for new languages",
    "export": "this project's tasks and results for other tools",
}


def config_for(args, section: str):
    cls = CONFIGS[section]
    extra = (Recipe,) if section in ("demo", "study") else ()
    return load_config(cls, args.config, overrides(args, cls), section, also=extra)


def run_build(args) -> None:
    """Turn parallel sentences into crosslingual instruction data (+ replay)."""
    cfg = config_for(args, "build")
    manifest = build(cfg)
    print_stats(cfg.output)
    for line in build_warnings(manifest):
        print(f"warning: {line}", file=sys.stderr)
    replay = manifest["replay"]
    if replay["used"] < replay["requested"]:
        print(
            f"warning: only {replay['used']} replay rows available of {replay['requested']} requested",
            file=sys.stderr,
        )
    elif replay["repeat_factor"] > 1:
        print(
            f"replay: {replay['available']:,} rows repeated {replay['repeat_factor']:.2f}x on average to "
            f"make the {replay['used']:,} asked for (train --replay-share samples a share per batch instead; "
            "--no-oversample refuses)",
            file=sys.stderr,
        )


def build_warnings(manifest: dict) -> list[str]:
    """What a built folder's counts say that the user should know: repeated pairs, XSS without negatives."""
    pairs, counts = manifest["pairs"], manifest["counts"]
    found = []
    if pairs["used"] and pairs.get("duplicates", 0) > 0.05 * pairs["used"]:
        found.append(
            f"{pairs['duplicates']} of {pairs['used']} pairs "
            f"({100 * pairs['duplicates'] / pairs['used']:.0f}%) repeat an earlier pair of the same "
            "languages; they are kept, so those sentences weigh more (deduplicate the bitext if that is not "
            "intended)"
        )
    if counts["by_objective"].get("xss") and not counts.get("xss_negatives"):
        found.append(
            "every XSS example answers 'yes': the bitext has too few distinct sentences to draw negatives "
            "from; add sentences or drop xss from --objectives"
        )
    return found


def run_stats(args) -> None:
    print_stats(args.folder)


def run_train(args) -> None:
    """Continual instruction tuning on a built data folder."""
    from .train import train

    train(config_for(args, "train"))


def run_eval(args) -> None:
    """Zero-shot prompted evaluation (rank classification, or MT generation)."""
    from .evaluate.run import evaluate
    from .export.lmeval import write_lm_eval_results

    cfg = config_for(args, "eval")
    evaluate(cfg, also=write_lm_eval_results if cfg.lm_eval_results else None)


def run_report(args) -> None:
    """Compare eval runs: tables, intervals, verdicts, similarity, plots."""
    report(config_for(args, "report"))


def run_merge(args) -> None:
    """Interpolate a tuned model back toward its base (WiSE-FT), after training."""
    merge(config_for(args, "merge"))


def run_demo(args) -> None:
    """The whole method end to end, offline, on NusaX and a small stand-in."""
    cfg = config_for(args, "demo")
    demo.run_demo(cfg, read_recipe(Recipe, args.config, preset(cfg.quick, demo=True)))


def run_study(args) -> None:
    """One of the paper's studies on the demo's stand-in (or your model)."""
    cfg = replace(config_for(args, "study"), study=args.study)
    study.run_study(cfg, read_recipe(Recipe, args.config, preset(cfg.quick)))


def run_export(args) -> None:
    """Classification tasks as an lm-evaluation-harness task folder (same prompts, scores, offline data)."""
    from .export.lmeval import export_lm_eval

    export_lm_eval(config_for(args, "export"))


def run_card(args) -> None:
    """Add an evaluation's scores to a model's card (hub model-index)."""
    add_results(config_for(args, "card"))


def run_preview(args) -> None:
    """Show the first examples of a built folder exactly as a model will train on them."""
    from .train.preview import preview  # transformers, through the tokenizer

    preview(config_for(args, "preview"))


def run_synth_replay(args) -> None:
    """Replay data written by the model itself, for a model whose instruction data is private."""
    synth_replay(config_for(args, "synth"))


def run_vocab_audit(args) -> None:
    """How a model's tokenizer cuts each language: tokens per word, fragments."""
    audit(config_for(args, "audit"))


def run_vocab_extend(args) -> None:
    """New tokens for new languages, their embeddings initialised from the old ones."""
    extend(config_for(args, "extend"))


def run_download(args) -> None:
    target = download(args.dataset, Path(args.to) if args.to else cache_dir() / args.dataset)
    print(f"{SOURCES[args.dataset].name} is in {target}")


COMMANDS = {  # every command with a config: the parser, config sections and README come from here
    "build": Command(("data", "build"), run_build),
    "train": Command(("train",), run_train),
    "eval": Command(("eval",), run_eval),
    "report": Command(("report",), run_report),
    "merge": Command(("merge",), run_merge),
    "demo": Command(("demo",), run_demo),
    "study": Command(("study",), run_study),
    "export": Command(("export", "lm-eval"), run_export),
    "card": Command(("card",), run_card),
    "audit": Command(("vocab", "audit"), run_vocab_audit),
    "extend": Command(("vocab", "extend"), run_vocab_extend),
    "preview": Command(("data", "preview"), run_preview),
    "synth": Command(("data", "synth-replay"), run_synth_replay),
}


def first_paragraph(doc: str | None) -> str:
    """A docstring's first paragraph as one line (a `--help` description)."""
    return " ".join((doc or "").split("\n\n")[0].split())


def add_command(parent, section: str) -> argparse.ArgumentParser:
    command, cls = COMMANDS[section], CONFIGS[section]
    p = parent.add_parser(command.path[-1], help=command.help, description=first_paragraph(cls.__doc__))
    if section == "study":
        questions = "; ".join(f"{name}: {s.question}" for name, s in study.STUDIES.items())
        p.add_argument(
            "study", choices=list(study.STUDIES), help=f"the study to run ({questions})".replace("%", "%%")
        )
    p.add_argument("--config", help=f"YAML config (top-level settings or a {section}: section)")
    add_flags(p, cls)
    allow_negative_numbers(p)
    p.set_defaults(func=command.run)
    return p


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="instructalign", description=first_paragraph(__doc__))
    parser.add_argument("--version", action="version", version=f"instructalign {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    groups = {}
    for section, command in COMMANDS.items():
        parent, group = sub, command.path[0]
        if len(command.path) > 1:
            if group not in groups:
                groups[group] = sub.add_parser(group, help=GROUPS[group]).add_subparsers(
                    dest=f"{group}_command", required=True
                )
            parent = groups[group]
        add_command(parent, section)
    stats = groups["data"].add_parser("stats", help="print a built folder's manifest as tables")
    stats.add_argument("folder")
    stats.set_defaults(func=run_stats)
    download = groups["data"].add_parser(
        "download", help="fetch a public dataset (nusax, sib200) into the cache or --to DIR"
    )
    download.add_argument("dataset", choices=["nusax", "sib200"])
    download.add_argument("--to", help="target folder (default: ~/.cache/instructalign/DATASET)")
    download.set_defaults(func=run_download)
    return parser


def quiet_library_progress_bars() -> None:
    """instructalign draws its own bars; transformers' per-save and per-load bars are noise here."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:
        return
    hf_logging.disable_progress_bar()


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    if args.command != "data":  # data commands never load transformers; importing it costs ~1 s
        quiet_library_progress_bars()
    try:
        args.func(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


def entry() -> None:
    """The `instructalign` command: `main` in a process tuned for it (`process.py`)."""
    tune_process()
    exit_without_final_collection(main())


if __name__ == "__main__":
    entry()
