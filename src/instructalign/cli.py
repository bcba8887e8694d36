"""`instructalign` command line: each subcommand parses flags, loads a config and calls one function.

User mistakes raise `UserError` and end here as one line on stderr with exit code 2.
"""

from __future__ import annotations

import argparse
import sys

from .errors import UserError


def csv_list(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def add_build_parser(sub) -> None:
    p = sub.add_parser("build", help="turn parallel sentences into crosslingual instruction data (+ replay)")
    p.add_argument("--config", help="YAML config (top-level settings or a build: section)")
    p.add_argument(
        "--bitext", action="append", help="NusaX folder, CSV/TSV, JSONL or hf:NAME[:CONFIG] (repeatable)"
    )
    p.add_argument("--split", help="split of a NusaX folder or HF dataset (default train)")
    p.add_argument("--pivots", type=csv_list, help="known languages, e.g. ind,eng (default ind,eng)")
    p.add_argument("--targets", type=csv_list, help="new languages, e.g. jav,sun,min")
    p.add_argument("--objectives", type=csv_list, help="mt,tlm,xss,mlm (default mt,tlm,xss)")
    p.add_argument("--objective-weights", help="examples per pair direction, e.g. mt=1,tlm=1,xss=0.5")
    p.add_argument("--prompt-langs", type=csv_list, help="template languages (default en,id)")
    p.add_argument("--templates", action="append", help="extra template YAML file (repeatable)")
    p.add_argument("--mask-rate", type=float)
    p.add_argument("--delete-rate", type=float)
    p.add_argument("--permute-window", type=int)
    p.add_argument("--replay", help="earlier instruction data: JSONL {inputs,targets} or hf:NAME[:CONFIG]")
    p.add_argument("--replay-count", type=int, help="replay rows to mix in")
    p.add_argument("--replay-ratio", type=float, help="replay share of the final mix, 0 <= r < 1")
    p.add_argument("--replay-split", help="split of a hf: replay dataset (default train)")
    p.add_argument(
        "--exclude", action="append", help="evaluation texts to keep out: file or NusaX folder (repeatable)"
    )
    p.add_argument("--max-pairs", type=int, help="stop after this many pairs")
    p.add_argument("--seed", type=int)
    p.add_argument("--output", help="output folder (train.jsonl, manifest.json)")
    p.add_argument("--overwrite", action="store_true", default=None, help="replace an existing output folder")
    p.set_defaults(func=run_build)


def run_build(args) -> None:
    from .config import BuildConfig, load_config
    from .data.build import build
    from .data.stats import print_stats

    overrides = {
        k: v for k, v in vars(args).items() if k not in ("config", "func", "command", "data_command")
    }
    cfg = load_config(BuildConfig, args.config, overrides, "build")
    manifest = build(cfg)
    print_stats(cfg.output)
    replay = manifest["replay"]
    if replay["used"] < replay["requested"]:
        print(
            f"warning: only {replay['used']} replay rows available of {replay['requested']} requested",
            file=sys.stderr,
        )


def run_stats(args) -> None:
    from .data.stats import print_stats

    print_stats(args.folder)


def add_train_parser(sub) -> None:
    p = sub.add_parser(
        "train", help="continual instruction tuning on a built data folder (alignment + replay)"
    )
    p.add_argument("--config", help="YAML config (top-level settings or a train: section)")
    p.add_argument("--model", help="hub id or model folder (causal LM or encoder-decoder)")
    p.add_argument("--data", help="folder written by 'instructalign data build'")
    p.add_argument(
        "--output", help="output folder; rerunning the same command resumes from its newest checkpoint"
    )
    p.add_argument(
        "--lora", action="store_true", default=None, help="train LoRA adapters instead of all weights"
    )
    p.add_argument("--lora-r", type=int)
    p.add_argument("--lora-alpha", type=int)
    p.add_argument("--lora-dropout", type=float)
    p.add_argument(
        "--lora-targets", type=csv_list, help="modules to adapt (default: peft's per-architecture choice)"
    )
    p.add_argument(
        "--merge-lora", action="store_true", default=None, help="merge adapters into the weights on save"
    )
    p.add_argument("--max-steps", type=int)
    p.add_argument("--epochs", type=float)
    p.add_argument("--lr", type=float, help="peak learning rate (default 1e-5, as in the paper)")
    p.add_argument("--lr-scheduler", help="linear (default), cosine, constant, ...")
    p.add_argument("--warmup-ratio", type=float)
    p.add_argument("--weight-decay", type=float)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--grad-accum", type=int)
    p.add_argument(
        "--max-length", type=int, help="longest example; prompts are cut from the left, targets never"
    )
    p.add_argument(
        "--loss-on-prompt",
        action="store_true",
        default=None,
        help="train on prompt tokens too (original code)",
    )
    p.add_argument("--no-group-by-length", dest="group_by_length", action="store_false", default=None)
    p.add_argument("--save-steps", type=int)
    p.add_argument("--logging-steps", type=int)
    p.add_argument("--precision", help="auto (default), fp32, bf16 or fp16")
    p.add_argument("--gradient-checkpointing", action="store_true", default=None)
    p.add_argument("--seed", type=int)
    p.set_defaults(func=run_train)


def run_train(args) -> None:
    from .config import TrainConfig, load_config
    from .train import train

    train(load_config(TrainConfig, args.config, overrides(args), "train"))


def add_eval_parser(sub) -> None:
    p = sub.add_parser("eval", help="zero-shot prompted evaluation (rank classification, or MT generation)")
    p.add_argument("--config", help="YAML config (top-level settings or an eval: section)")
    p.add_argument("--model", help="hub id or model folder")
    p.add_argument("--task", help="shipped task (nusax_senti, nusax_mt) or a task YAML file")
    p.add_argument("--data", help="folder the task's files are read from (e.g. the NusaX folder)")
    p.add_argument("--split", help="split to read (default: the task's own; valid while choosing settings)")
    p.add_argument("--langs", type=csv_list, help="languages to evaluate (default: all of the task's)")
    p.add_argument("--prompt-lang", dest="prompt_langs", type=csv_list, help="template languages, e.g. en,id")
    p.add_argument("--roles", help="groups for means, e.g. 'L1=eng,ind;L2=jav,sun;L3=mad'")
    p.add_argument("--limit", type=int, help="first N examples per language")
    p.add_argument("--batch-size", type=int)
    p.add_argument(
        "--normalize", help="none (default), tokens or chars: length normalisation of choice scores"
    )
    p.add_argument("--max-length", type=int)
    p.add_argument("--dtype", help="float32 (default), bfloat16 or float16")
    p.add_argument("--output", help="output folder: results.json, predictions.jsonl")
    p.set_defaults(func=run_eval)


def run_eval(args) -> None:
    from .config import EvalConfig, load_config
    from .evaluate.run import evaluate

    cfg = load_config(EvalConfig, args.config, overrides(args), "eval")
    evaluate(cfg)


def add_report_parser(sub) -> None:
    p = sub.add_parser(
        "report", help="compare eval runs: tables, continual-learning metrics, similarity, plots"
    )
    p.add_argument("--config", help="YAML config (top-level settings or a report: section)")
    p.add_argument(
        "--run",
        action="append",
        help="NAME=DIR or NAME=DIR1,DIR2,DIR3 (one eval folder per seed); repeatable",
    )
    p.add_argument("--baseline", help="run the others are compared with (default: the first)")
    p.add_argument("--control", help="a second reference run, e.g. replay-only")
    p.add_argument("--roles", help="'L1=eng,ind;L2=jav,sun;L3=mad' (default: the roles recorded by eval)")
    p.add_argument(
        "--similarity-data", help="parallel text for language similarity (NusaX folder or wide CSV)"
    )
    p.add_argument("--task", help="task to report (default: the first in the results)")
    p.add_argument("--title")
    p.add_argument("--bootstrap", type=int, help="bootstrap resamples (default 2000)")
    p.add_argument("--seed", type=int)
    p.add_argument("--output", help="output folder: report.md, report.html, CSV tables, PNG plots")
    p.set_defaults(func=run_report)


def run_report(args) -> None:
    from .config import ReportConfig, load_config
    from .report import make_report

    cfg = load_config(ReportConfig, args.config, overrides(args), "report")
    make_report(cfg)
    print(f"report: {cfg.output}/report.html (and report.md)")


def add_demo_parser(sub) -> None:
    p = sub.add_parser(
        "demo", help="the whole method end to end, offline, on NusaX and a small stand-in model"
    )
    p.add_argument("--data", help="NusaX folder (default: $INSTRUCTALIGN_NUSAX, else the cache)")
    p.add_argument("--output", default="out/demo", help="output folder (default out/demo)")
    p.add_argument(
        "--seeds", type=int, default=1, help="repeat the trained runs (base included) with N seeds"
    )
    p.add_argument(
        "--quick", action="store_true", help="a much smaller model and fewer steps (about 3 minutes)"
    )
    p.add_argument("--eval-split", default="test", help="test (default) or valid (while choosing settings)")
    p.add_argument("--config", help="YAML whose demo: section changes the recipe (see configs/demo.yaml)")
    p.set_defaults(func=run_demo_command)


def run_demo_command(args) -> None:
    from dataclasses import asdict

    from .config import DemoRecipe, load_config
    from .demo import FULL, QUICK, run_demo

    preset = QUICK if args.quick else FULL
    recipe = None
    if args.config:
        recipe = load_config(DemoRecipe, args.config, {}, "demo")
        changed = {k: v for k, v in asdict(recipe).items() if v != getattr(DemoRecipe(), k)}
        recipe = DemoRecipe(**(asdict(preset) | changed))
    run_demo(
        args.data, args.output, seeds=args.seeds, quick=args.quick, eval_split=args.eval_split, recipe=recipe
    )


def run_download(args) -> None:
    from pathlib import Path

    from .data.download import download_nusax
    from .demo import cache_dir

    target = download_nusax(Path(args.to) if args.to else cache_dir() / "nusax")
    print(f"NusaX is in {target}")


def overrides(args) -> dict:
    return {k: v for k, v in vars(args).items() if k not in ("config", "func", "command", "data_command")}


def make_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(prog="instructalign", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"instructalign {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    data = sub.add_parser("data", help="build and inspect training data").add_subparsers(
        dest="data_command", required=True
    )
    add_build_parser(data)
    stats = data.add_parser("stats", help="print a built folder's manifest as tables")
    stats.add_argument("folder")
    stats.set_defaults(func=run_stats)
    download = data.add_parser("download", help="fetch a public dataset (nusax) into the cache or --to DIR")
    download.add_argument("dataset", choices=["nusax"])
    download.add_argument("--to", help="target folder (default: ~/.cache/instructalign/nusax)")
    download.set_defaults(func=run_download)
    add_train_parser(sub)
    add_eval_parser(sub)
    add_report_parser(sub)
    add_demo_parser(sub)
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


if __name__ == "__main__":
    sys.exit(main())
