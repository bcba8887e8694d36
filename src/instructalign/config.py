"""Typed configs for each stage, loaded from YAML and overridden by CLI flags.

A YAML file holds either the settings of one command at top level, or one section per command
(`build:`, `train:`, `eval:`), so one file can describe a whole experiment. Every field is documented
where it is declared; `configs/` ships examples, each headed by the command that runs it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import languages
from .errors import UserError


@dataclass
class BuildConfig:
    """`instructalign data build`: parallel sentences -> crosslingual instruction data (+ replay)."""

    bitext: list[str] = field(default_factory=list)
    """Parallel corpora: NusaX-style folder, wide CSV/TSV, JSONL {src_lang,tgt_lang,src,tgt}, or hf:NAME[:CONFIG]."""
    split: str = "train"
    """Split to read from a NusaX folder (mt/{split}.csv) or a Hugging Face dataset."""
    pivots: list[str] = field(default_factory=lambda: ["ind", "eng"])
    """Known (high-resource, L1) languages that the new languages are aligned with."""
    targets: list[str] = field(default_factory=list)
    """New (L2) languages to teach."""
    objectives: list[str] = field(default_factory=lambda: ["mt", "tlm", "xss"])
    """Alignment objectives: mt, tlm (bilingual denoising), xss (crosslingual similarity), mlm (monolingual denoising)."""
    objective_weights: dict[str, float] = field(default_factory=dict)
    """Examples per pair and direction for an objective (default 1; 0.5 = half the pairs, 2 = two variants)."""
    prompt_langs: list[str] = field(default_factory=lambda: ["en", "id"])
    """Languages of the prompt templates to draw from (shipped: en, id)."""
    templates: list[str] = field(default_factory=list)
    """Extra template YAML files (added to the shipped ones)."""
    mask_rate: float = 0.15
    """Denoising: share of words masked (a run of masked words becomes one <mask>)."""
    delete_rate: float = 0.15
    """Denoising: share of words deleted."""
    permute_window: int = 3
    """Denoising: words move at most about this many places when shuffled (<=1 disables)."""
    replay: str | None = None
    """Earlier instruction data to replay: JSONL {inputs,targets} (xP3 format) or hf:NAME[:CONFIG]."""
    replay_count: int | None = None
    """Number of replay rows to mix in (the paper used 100 to 100,000 xP3 rows)."""
    replay_ratio: float | None = None
    """Alternatively, the replay share of the final mix (0 <= r < 1)."""
    replay_split: str = "train"
    """Split of a hf: replay dataset."""
    exclude: list[str] = field(default_factory=list)
    """Evaluation texts that must not appear in training data: file or NusaX folder (its test split)."""
    max_pairs: int | None = None
    """Stop after this many usable pairs (for quick runs)."""
    seed: int = 0
    """Seed of every random choice; same inputs + seed = byte-identical output."""
    output: str | None = None
    """Output folder: train.jsonl and manifest.json."""
    overwrite: bool = False
    """Replace an existing output folder."""
    languages: list[dict] = field(default_factory=list)
    """Extra languages: [{code, name_en, name_id, aliases}]."""


SECTIONS = {"build", "train", "eval", "report", "demo"}


@dataclass
class EvalConfig:
    """`instructalign eval`: zero-shot prompted evaluation by rank classification (or MT generation)."""

    model: str | None = None
    """Model to evaluate: hub id or local folder (a train output's `final/` folder)."""
    task: str = "nusax_senti"
    """Shipped task name (nusax_senti, nusax_mt) or a task YAML file."""
    data: str | None = None
    """Root folder the task's files are read from (e.g. the NusaX folder)."""
    split: str | None = None
    """Split to read (default: the task's own, test for nusax_senti); use valid while choosing settings."""
    langs: list[str] = field(default_factory=list)
    """Languages to evaluate (default: all of the task's)."""
    prompt_langs: list[str] = field(default_factory=list)
    """Template languages (default: all of the task's; nusax_senti has en and id, 3 templates each, as in the paper)."""
    roles: str | dict | None = None
    """Language groups for means, e.g. 'L1=eng,ind;L2=jav,sun;L3=mad'."""
    limit: int | None = None
    """Evaluate the first N examples of each language only."""
    batch_size: int = 16
    """Prompts per forward pass (results do not depend on it)."""
    normalize: str = "none"
    """Choice score normalisation: none (summed log-prob, the default), tokens (per token) or chars (per character)."""
    max_length: int = 1024
    """Longest prompt + choice in tokens; longer prompts keep their end."""
    dtype: str = "float32"
    """float32, bfloat16 or float16."""
    output: str | None = None
    """Output folder: results.json, predictions.jsonl."""


@dataclass
class TrainConfig:
    """`instructalign train`: continual instruction tuning on a built `train.jsonl` (alignment + replay).

    Defaults follow the paper: full fine-tuning at lr 1e-5 with AdamW and a linear schedule.
    """

    model: str | None = None
    """Instruction-tuned model to continue from: hub id or local folder (causal LM or encoder-decoder)."""
    data: str | None = None
    """Folder written by `instructalign data build` (its train.jsonl)."""
    output: str | None = None
    """Output folder: checkpoint-*/, final/, train_summary.json, tensorboard/."""
    lora: bool = False
    """Train LoRA adapters (peft) instead of all weights."""
    lora_r: int = 16
    """LoRA rank."""
    lora_alpha: int = 32
    """LoRA scaling numerator (scale = alpha / r)."""
    lora_dropout: float = 0.05
    """Dropout on the LoRA path."""
    lora_targets: list[str] | None = None
    """Modules to adapt (default: peft's choice for the architecture, e.g. query_key_value for BLOOM, q,v for T5)."""
    merge_lora: bool = False
    """Merge the adapters into the base weights when saving final/ (else save the adapter only)."""
    max_steps: int = -1
    """Optimizer steps (overrides epochs when > 0)."""
    epochs: float = 1.0
    """Passes over the data."""
    lr: float = 1e-5
    """Peak learning rate (paper: 1e-5)."""
    lr_scheduler: str = "linear"
    """transformers scheduler name: linear, cosine, constant, ..."""
    warmup_ratio: float = 0.0
    """Share of steps spent warming up."""
    weight_decay: float = 0.0
    """AdamW weight decay."""
    adam_beta2: float = 0.999
    """AdamW beta2."""
    max_grad_norm: float = 1.0
    """Gradient clipping."""
    batch_size: int = 8
    """Examples per device per step."""
    grad_accum: int = 1
    """Gradient accumulation steps."""
    max_length: int = 512
    """Longest example in tokens; longer prompts are cut from the left, targets never."""
    loss_on_prompt: bool = False
    """Also train on prompt tokens (the original InstructAlign code's behaviour; causal models only)."""
    group_by_length: bool = True
    """Batch examples of similar length together (less padding)."""
    save_steps: int = 500
    """Checkpoint every N steps into OUT/checkpoint-N."""
    save_total_limit: int | None = 3
    """Keep at most this many checkpoints."""
    logging_steps: int = 10
    """Log loss and throughput every N steps."""
    precision: str = "auto"
    """auto (bf16 on a GPU that has it, else fp32), fp32, bf16 or fp16."""
    gradient_checkpointing: bool = False
    """Recompute activations in the backward pass to save memory."""
    seed: int = 42
    """Seed of model init, data order and dropout."""


@dataclass
class ReportConfig:
    """`instructalign report`: compare eval runs against a baseline, in tables and plots."""

    run: list[str] = field(default_factory=list)
    """NAME=DIR[,DIR2,...]: an eval output folder (or a folder holding one) per seed."""
    baseline: str | None = None
    """Name of the run the others are compared with (default: the first)."""
    control: str | None = None
    """Optional second reference run (e.g. replay-only), also compared against."""
    roles: str | None = None
    """Language groups, e.g. 'L1=eng,ind;L2=jav,sun;L3=mad' (default: the roles the eval runs recorded)."""
    similarity_data: str | None = None
    """Parallel text for language similarity: a NusaX folder (mt/train.csv) or a wide CSV."""
    task: str | None = None
    """Task to report (default: the only/first task in the results)."""
    title: str = "InstructAlign report"
    """Report title."""
    bootstrap: int = 2000
    """Bootstrap resamples for the 95% intervals."""
    seed: int = 0
    """Seed of the bootstrap."""
    notes: list[str] = field(default_factory=list)
    """Extra paragraphs for the report (the demo adds its summary here)."""
    output: str | None = None
    """Output folder: report.md, report.html, *.csv, *.png."""


@dataclass(frozen=True)
class DemoRecipe:
    """`instructalign demo`: the recipe of the offline experiment (a `demo:` section of a config file).

    Chosen on the NusaX valid split; the report's numbers are on test. `--quick` uses a smaller preset.
    """

    vocab_size: int = 4000
    d_model: int = 192
    n_layer: int = 3
    n_head: int = 4
    n_positions: int = 512
    dropout: float = 0.0
    activation: str = "gelu"
    batch_size: int = 16
    max_length: int = 384
    base_full_steps: int = 1200  # base stage 1: loss on the whole sequence
    base_full_lr: float = 1e-3
    base_target_steps: int = 600  # base stage 2: loss on targets only
    base_target_lr: float = 5e-4
    stage_steps: int = 800  # each continual-tuning run
    stage_lr: float = 5e-4
    replay_share: float = 0.5
    eval_limit: int | None = None
    eval_prompt_langs: tuple[str, ...] = ("en", "id")  # a YAML list is accepted too
    precision: str = "fp32"
    eval_dtype: str = (
        "bfloat16"  # 99% of predictions equal to fp32 on valid, group means within 0.1; 2x faster
    )


def _fields(cls) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls)}


def load_config(cls, path: str | None, overrides: dict[str, Any], section: str):
    """Build a `cls` config from YAML `path` (its `section` if it has one) and non-None `overrides`."""
    data: dict[str, Any] = {}
    where = path or "command line"
    if path:
        p = Path(path)
        if not p.is_file():
            raise UserError(f"{path}: config file not found; check --config")
        try:
            doc = yaml.safe_load(p.read_text("utf-8")) or {}
        except yaml.YAMLError as exc:
            raise UserError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
        if not isinstance(doc, dict):
            raise UserError(f"{path}: expected a mapping of settings")
        body = doc[section] if isinstance(doc.get(section), dict) else doc
        data = {k: v for k, v in body.items() if k not in SECTIONS}
        if body is not doc and "languages" in doc:
            data.setdefault("languages", doc["languages"])
        known = _fields(cls)
        for key in data:
            if key not in known and key != "languages":
                raise UserError(f"{path}: unknown setting '{key}' for {section}; known: {', '.join(known)}")
    data.update({k: v for k, v in overrides.items() if v is not None})
    languages.register(data.get("languages") or [], where)
    if "languages" not in _fields(cls):
        data.pop("languages", None)
    try:
        return cls(**data)
    except TypeError as exc:
        raise UserError(f"{where}: {exc}") from None


def as_dict(cfg) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def config_classes() -> dict[str, type]:
    """Section name -> config class, for every stage that has one."""
    return {
        "build": BuildConfig,
        "train": TrainConfig,
        "eval": EvalConfig,
        "report": ReportConfig,
        "demo": DemoRecipe,
    }
