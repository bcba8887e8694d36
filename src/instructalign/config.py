"""Typed configs for each stage, loaded from YAML and overridden by CLI flags.

A YAML file holds either the settings of one command at top level, or one section per command
(`build:`, `train:`, `eval:`), so one file can describe a whole experiment. Every field is documented
where it is declared; `configs/` ships examples, each headed by the command that runs it.

It is long because every command's options live here, each with its docstring: the single source of `--help`,
the YAML settings and README's flag tables.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from .options import PATH, PATHS, REPEAT, SEED, YAML_ONLY, above, at_least

Precision = Literal["auto", "fp32", "bf16", "fp16"]
Scheduler = Literal[
    "linear",
    "cosine",
    "cosine_with_restarts",
    "polynomial",
    "constant",
    "constant_with_warmup",
    "inverse_sqrt",
    "cosine_with_min_lr",
    "warmup_stable_decay",
]


@dataclass
class BuildConfig:
    """`instructalign data build`: parallel sentences -> crosslingual instruction data (+ replay)."""

    bitext: list[str] = field(default_factory=list, metadata=PATHS)
    """Parallel corpora: a NusaX, SIB-200 or FLORES-200 folder, a wide CSV/TSV, a JSONL of
    {src_lang,tgt_lang,src,tgt}, or hf:NAME[:CONFIG]."""
    split: str = "train"
    """Split to read (NusaX mt/{split}.csv, a hub dataset's split; SIB-200 and FLORES folders take several:
    train+dev, dev+devtest)."""
    pivots: list[str] = field(default_factory=lambda: ["ind", "eng"])
    """Known (high-resource, L1) languages that the new languages are aligned with."""
    targets: list[str] = field(default_factory=list)
    """New (L2) languages to teach."""
    objectives: list[str] = field(default_factory=lambda: ["mt", "tlm", "xss"])
    """Alignment objectives: mt, tlm (bilingual denoising), xss (crosslingual similarity), mlm (monolingual
    denoising)."""
    objective_weights: dict[str, float] = field(default_factory=dict)
    """Examples per pair and direction for an objective (default 1; 0.5 = half the pairs, 2 = two variants).
    """
    prompt_langs: list[str] = field(default_factory=lambda: ["en", "id"])
    """Languages of the prompt templates to draw from (shipped: en, id)."""
    templates: list[str] = field(default_factory=list, metadata=PATHS)
    """Extra template YAML files (added to the shipped ones)."""
    mask_rate: float = field(default=0.15, metadata=at_least(0))
    """Denoising: share of words masked (a run of masked words becomes one <mask>)."""
    delete_rate: float = field(default=0.15, metadata=at_least(0))
    """Denoising: share of words deleted."""
    permute_window: int = 3
    """Denoising: words move at most about this many places when shuffled (<=1 disables)."""
    xss_negatives: Literal["fluent", "perturbed"] = "fluent"
    """XSS "no" examples: another real sentence close in length and character n-grams (fluent), or that
    plus the original code's word noise on both sentences of every XSS example (perturbed)."""
    replay: str | None = field(default=None, metadata=PATH)
    """Earlier instruction data to replay: JSONL rows of messages, ShareGPT conversations, Alpaca
    instruction/input/output, xP3 inputs/targets or prompt/target; or hf:NAME[:CONFIG]."""
    replay_count: int | None = field(default=None, metadata=at_least(0))
    """Number of replay rows to mix in (the paper used 100 to 100,000 xP3 rows)."""
    replay_ratio: float | None = None
    """Alternatively, the replay share of the final mix (0 <= r < 1)."""
    oversample: bool = True
    """When the replay source holds fewer rows than --replay-count or --replay-ratio asks, repeat them (each
    about equally often) to reach it, and say by how much; --no-oversample refuses instead."""
    replay_split: str = "train"
    """Split of a hf: replay dataset."""
    exclude: list[str] = field(default_factory=list, metadata=PATHS)
    """Evaluation texts that must not appear in training data: file or NusaX folder (its test split)."""
    allow_eval_split: bool = False
    """Read a test split (or a benchmark's test file, or text nearly all its sentences) as training text,
    which is refused otherwise: scores on that test set then mean nothing."""
    max_pairs: int | None = field(default=None, metadata=at_least(1))
    """Stop after this many usable pairs (for quick runs)."""
    seed: int = field(default=0, metadata=SEED)
    """Seed of every random choice; same inputs + seed = byte-identical output, whatever --workers."""
    workers: int | None = field(default=None, metadata=at_least(1))
    """Processes that make the examples, chunks of 1,000 pairs each (default: the cores available; the output
    does not depend on it)."""
    output: str | None = field(default=None, metadata=PATH)
    """Output folder: train.jsonl and manifest.json."""
    overwrite: bool = False
    """Replace an existing output folder."""
    languages: list[dict] = field(default_factory=list, metadata=YAML_ONLY)
    """Extra languages: [{code, name_en, name_id, aliases}]."""


@dataclass
class DataPreviewConfig:
    """`instructalign data preview`: the first examples of a built folder exactly as a model will train on
    them, the tokens that carry the loss marked."""

    data: str | None = field(default=None, metadata=PATH)
    """Folder written by `instructalign data build` (its train.jsonl)."""
    model: str | None = field(default=None, metadata=PATH)
    """The model (its tokenizer and chat template): hub id or local folder."""
    n: int = field(default=3, metadata=at_least(1))
    """Examples to show."""
    json: bool = False
    """One JSON object a line, {input_ids, labels} (-100 where there is no loss), instead of marked text."""
    chat_template: str = "auto"
    """As for train: auto, none or a Jinja template file."""
    system: str | None = None
    """As for train: a system turn before every conversation."""
    max_length: int = field(default=512, metadata=at_least(2))
    """As for train: the longest example in tokens."""
    loss_on_prompt: bool = False
    """As for train: the prompt's tokens carry the loss too."""


@dataclass
class SynthReplayConfig:
    """`instructalign data synth-replay`: replay data written by the model itself, for a model whose own
    instruction data is private (answers to your prompts, or prompts and answers both)."""

    model: str | None = field(default=None, metadata=PATH)
    """The model whose knowledge the replay should keep: hub id or local folder."""
    output: str | None = field(default=None, metadata=PATH)
    """Output folder: replay.jsonl (for data build --replay) and manifest.json."""
    n: int | None = field(default=None, metadata=at_least(1))
    """Rows to write when the model writes the prompts too (without --prompts); with --prompts, answer only
    the first N."""
    prompts: str | None = field(default=None, metadata=PATH)
    """Prompts for the model to answer: a text file (one a line) or JSONL rows with prompt, instruction,
    inputs or messages (the last user turn is answered, earlier turns kept)."""
    seed_prompts: str | None = field(default=None, metadata=PATH)
    """For a model without a chat template: instruction openings (one a line) that the model continues into
    an instruction (default: the English and Indonesian openings shipped in synth/openings.yaml)."""
    seed: int = field(default=0, metadata=SEED)
    """Seed of the sampling: the same model, settings and seed give a byte-identical file on one machine."""
    temperature: float = field(default=0.7, metadata=at_least(0))
    """Sampling temperature of the answers (0: greedy, the model's most likely answer)."""
    prompt_temperature: float = field(default=1.0, metadata=above(0))
    """Sampling temperature of the prompts the model writes itself (Magpie used 1.0)."""
    top_p: float = field(default=1.0, metadata=above(0))
    """Nucleus sampling: the smallest set of tokens whose probability reaches this (1: all)."""
    max_new_tokens: int = field(default=256, metadata=at_least(1))
    """Longest answer in tokens; an answer cut there is dropped unless --keep-cut."""
    max_prompt_tokens: int = field(default=128, metadata=at_least(1))
    """Longest prompt the model writes itself, in tokens (one cut there is dropped)."""
    batch_size: int = field(default=16, metadata=at_least(1))
    """Prompts generated together (left-padded, with the KV cache)."""
    chat_template: str = "auto"
    """As for train: auto, none or a Jinja template file."""
    system: str | None = None
    """As for train: a system turn before every conversation."""
    min_chars: int = field(default=1, metadata=at_least(1))
    """Shortest answer kept, in characters."""
    max_chars: int | None = field(default=None, metadata=at_least(1))
    """Longest answer kept, in characters (default: no bound but --max-new-tokens)."""
    keep_cut: bool = False
    """Keep answers that --max-new-tokens cut before the model ended them."""
    overwrite: bool = False
    """Replace an existing output folder."""


@dataclass
class EvalConfig:
    """`instructalign eval`: zero-shot prompted evaluation by rank classification (or MT generation)."""

    model: str | None = field(default=None, metadata=PATH)
    """Model to evaluate: hub id or local folder (a train output's `final/` folder)."""
    task: str = "nusax_senti"
    """Shipped task (nusax_senti, sib200, nusawrites_senti, nusax_mt) or a task YAML file; several,
    comma-separated, load the model once and write OUTPUT/<task>/."""
    data: str | None = field(default=None, metadata=PATH)
    """Root folder the task's files are read from (e.g. the NusaX folder); for several tasks,
    TASK=PATH,TASK=PATH."""
    split: str | None = None
    """Split to read (default: the task's own, test for nusax_senti); use valid while choosing settings."""
    langs: list[str] = field(default_factory=list)
    """Languages to evaluate (default: all of the task's); a translation task keeps the directions with one of
    them on either side."""
    prompt_langs: list[str] = field(default_factory=list)
    """Template languages (default: all of the task's; nusax_senti has en and id, 3 templates each, as in the
    paper)."""
    templates_set: str | None = None
    """A named template set of the task instead of its default templates (nusax_senti: 'extended', the pre-0.2
    phrasings)."""
    templates: int | None = field(default=None, metadata=at_least(1))
    """Score only the first N templates of each prompt language (default: all of them)."""
    roles: str | dict | None = None
    """Language groups for means, e.g. 'L1=eng,ind;L2=jav,sun;L3=mad'."""
    limit: int | dict[str, int] | None = field(default=None, metadata=at_least(1))
    """Evaluate the first N examples of each language only; for several tasks, one N or TASK=N,TASK=N (e.g.
    nusax_senti=150,sib200=56)."""
    batch_size: int = field(default=16, metadata=at_least(1))
    """Prompts per forward pass (results do not depend on it)."""
    chat_template: str = "auto"
    """The format the model meets text in: auto (its tokenizer's chat template when it has one, else raw),
    none (raw text: BLOOMZ, mT0, base models), or a Jinja template file for a model without one."""
    system: str | None = None
    """A system turn before every conversation (needs a chat template)."""
    normalize: Literal["none", "tokens", "chars"] = "none"
    """Choice score normalisation: none (summed log-prob, the default), tokens (per token) or chars (per
    character)."""
    max_length: int = field(default=1024, metadata=at_least(8))
    """Longest prompt + choice in tokens; longer prompts keep their end."""
    precision: Precision = "fp32"
    """Weights' number format: fp32, bf16, fp16, or auto (bf16 on a GPU that has it, else fp32)."""
    allow_partial: bool = False
    """Evaluate a checkpoint that lacks some weights (they stay randomly initialised; results.json says so).
    """
    lm_eval_results: bool = False
    """Also write lm_eval_results.json: the results in lm-evaluation-harness's output schema, under the task
    names of `export lm-eval`."""
    output: str | None = field(default=None, metadata=PATH)
    """Output folder: results.json, predictions.jsonl."""
    overwrite: bool = False
    """Write into an existing output folder that another command, or an evaluation with other settings, wrote.
    """


@dataclass
class ExportConfig:
    """`instructalign export lm-eval`: classification tasks as an lm-evaluation-harness task folder (runs
    offline)."""

    task: str = "nusax_senti"
    """Shipped classification task(s) or task YAML files, comma-separated (each gets OUTPUT/<task>/)."""
    data: str | None = field(default=None, metadata=PATH)
    """Root folder the task's files are read from; for several tasks, TASK=PATH,TASK=PATH (as for eval)."""
    split: str | None = None
    """Split to export (default: the task's own, test for nusax_senti)."""
    langs: list[str] = field(default_factory=list)
    """Languages to export (default: all of the task's)."""
    prompt_langs: list[str] = field(default_factory=list)
    """Template languages (default: all of the task's)."""
    templates_set: str | None = None
    """A named template set of the task instead of its default templates."""
    limit: int | None = field(default=None, metadata=at_least(1))
    """Export the first N examples of each language only (the rows eval --limit N scores)."""
    output: str | None = field(default=None, metadata=PATH)
    """Output folder: one lm-eval task folder per task, with its data, utils.py and a README."""
    overwrite: bool = False
    """Replace an existing output folder that another command, or an export with other settings, wrote."""


@dataclass
class CardConfig:
    """`instructalign card`: add an evaluation's scores to a model's card as a hub `model-index`."""

    model: str | None = field(default=None, metadata=PATH)
    """A model folder this project wrote (train's final/, merge's output): its README.md gets the results."""
    eval: list[str] = field(default_factory=list, metadata=PATHS)
    """An eval output folder (results.json, or one subfolder per task) of this model; repeatable."""
    name: str | None = None
    """The model-index name (default: the run folder's name, the folder that holds final/ or best/)."""
    base_model_id: str | None = None
    """The hub id of the model this one was trained from, when it was loaded from a local folder (default:
    read from a hub-cache snapshot path such as models--ORG--NAME/snapshots/REV, else left out)."""


@dataclass
class VocabAuditConfig:
    """`instructalign vocab audit`: how a model's tokenizer cuts each language (tokens per word, characters
    per token, words in 3+ pieces, byte/unknown tokens)."""

    model: str | None = field(default=None, metadata=PATH)
    """Model or tokenizer: hub id or local folder."""
    data: list[str] = field(default_factory=list, metadata=PATHS)
    """Text to audit, as for data build's bitext: a NusaX, SIB-200 or FLORES-200 folder, a wide CSV/TSV, a
    JSONL of pairs, or hf:NAME[:CONFIG]."""
    split: str = "train"
    """Split to read (the test split is refused: its sentences stay unseen)."""
    langs: list[str] = field(default_factory=list)
    """Languages to audit (default: every language of the data)."""
    pivots: list[str] = field(default_factory=lambda: ["eng", "ind"])
    """Known languages audited beside them, for comparison."""
    limit: int | None = field(default=2000, metadata=at_least(1))
    """Distinct sentences per language (None: all)."""
    output: str | None = field(default=None, metadata=PATH)
    """Folder for audit.csv (default: the console table only)."""


@dataclass
class VocabExtendConfig:
    """`instructalign vocab extend`: new tokens (byte-level BPE merges or Unigram pieces) learned from the new
    languages' training text, their embedding rows initialised from the old ones."""

    model: str | None = field(default=None, metadata=PATH)
    """Model to extend: hub id or local folder (a byte-level BPE tokenizer: GPT-2, BLOOM, Llama 3, Qwen; or a
    Unigram/SentencePiece one: T5, mT5, XLM-R)."""
    data: list[str] = field(default_factory=list, metadata=PATHS)
    """Training text, as for data build's bitext (its test sentences, and those of a NusaX or SIB-200 folder
    given here, never reach the new tokens)."""
    split: str = "train"
    """Split to learn from (the test split is refused)."""
    langs: list[str] = field(default_factory=list)
    """The new languages whose text the tokens are learned from."""
    add: int = field(default=2000, metadata=at_least(1))
    """New tokens to add, at most (fewer when the text has no more pairs to merge)."""
    pivots: list[str] = field(default_factory=lambda: ["eng", "ind"])
    """Languages whose words keep their tokens: no merge of two tokens adjacent in a word of their text (from
    the data and pivot_data) is added (empty: no protection)."""
    pivot_data: list[str] = field(default_factory=list, metadata=PATHS)
    """More text of the pivot languages, sources as for data (same split): only protects their words, no token
    is learned from it."""
    init: str = "mean"
    """Initialisation of the new rows: mean (of the old pieces' rows) or focus (a sparsemax-weighted sum of
    similar old tokens' rows)."""
    exclude: list[str] = field(default_factory=list, metadata=PATHS)
    """More evaluation texts to keep out, as for data build."""
    limit: int | None = field(default=None, metadata=at_least(1))
    """Distinct sentences per language to learn from (None: all)."""
    output: str | None = field(default=None, metadata=PATH)
    """Folder for the extended model and tokenizer (from_pretrained loads it)."""
    overwrite: bool = False
    """Replace a non-empty output folder."""


@dataclass
class TrainConfig:
    """`instructalign train`: continual instruction tuning on a built `train.jsonl` (alignment + replay).

    Defaults follow the paper: full fine-tuning at lr 1e-5 with AdamW and a linear schedule (LoRA: lr 1e-4).
    """

    GROUPS: ClassVar[dict[str, tuple[str, ...]]] = {  # `train --help` by topic
        "data and model": ("model", "data", "chat_template", "system", "base_model_id", "max_length",
                           "loss_on_prompt"),
        "LoRA": ("lora", "lora_r", "lora_alpha", "lora_dropout", "lora_new_tokens", "lora_targets",
                 "merge_lora"),
        "schedule": ("max_steps", "epochs", "lr", "lr_scheduler", "warmup_ratio", "weight_decay",
                     "adam_beta2", "max_grad_norm", "batch_size", "grad_accum", "seed"),
        "speed and memory": ("head_on_targets", "group_by_length", "precision", "gradient_checkpointing"),
        "replay": ("replay_share", "replay_guard"),
        "monitor (forgetting while it happens)": ("monitor", "monitor_task", "monitor_data", "monitor_split",
                                                  "monitor_limit", "monitor_every", "monitor_prompt_langs",
                                                  "monitor_templates", "monitor_roles", "keep_best"),
        "new tokens (from vocab extend)": ("embeddings_warmup", "embeddings_lr"),
        "output": ("output", "overwrite", "save_steps", "save_total_limit", "logging_steps", "report_to"),
    }  # fmt: skip

    model: str | None = field(default=None, metadata=PATH)
    """Instruction-tuned model to continue from: hub id or local folder (causal LM or encoder-decoder)."""
    data: str | None = field(default=None, metadata=PATH)
    """Folder written by `instructalign data build` (its train.jsonl)."""
    output: str | None = field(default=None, metadata=PATH)
    """Output folder: checkpoint-*/, final/, train_summary.json, tensorboard/."""
    overwrite: bool = False
    """Replace an output folder that holds something else (another run, other files) instead of refusing it.
    """
    lora: bool = False
    """Train LoRA adapters (peft) instead of all weights."""
    lora_r: int = field(default=16, metadata=at_least(1))
    """LoRA rank."""
    lora_alpha: int = field(default=32, metadata=at_least(1))
    """LoRA scaling numerator (scale = alpha / r)."""
    lora_dropout: float = field(default=0.05, metadata=at_least(0))
    """Dropout on the LoRA path."""
    lora_new_tokens: Literal["rows", "matrix", "frozen"] = "rows"
    """Under --lora, the embedding rows `vocab extend` added: rows (they train, and only they: peft's
    trainable_token_indices), matrix (the whole embedding matrix and an untied head train and are saved:
    modules_to_save) or frozen (they keep their initialisation)."""
    lora_targets: list[str] | None = None
    """Modules to adapt (default: peft's choice for the architecture, e.g. query_key_value for BLOOM, q,v for
    T5)."""
    chat_template: str = "auto"
    """The format the model meets text in: auto (its tokenizer's chat template when it has one, else raw),
    none (raw text: BLOOMZ, mT0, base models), or a Jinja template file for a model without one."""
    system: str | None = None
    """A system turn before every conversation (needs a chat template)."""
    base_model_id: str | None = None
    """The hub id of --model when it is a local folder, for the model card's base_model (default: read from a
    hub-cache snapshot path such as models--ORG--NAME/snapshots/REV, else left out: never the folder's own
    base)."""
    merge_lora: bool = False
    """Merge the adapters into the base weights when saving final/ (else save the adapter only)."""
    max_steps: int | None = field(default=None, metadata=at_least(1))
    """Optimizer steps (when set, instead of epochs)."""
    epochs: float = field(default=1.0, metadata=above(0))
    """Passes over the data."""
    lr: float | None = field(default=None, metadata=above(0))
    """Peak learning rate (default: 1e-5 for full fine-tuning, the paper's; 1e-4 under --lora, as LoRA recipes
    use: adapters start at zero and learn little at a full fine-tune's rate)."""
    lr_scheduler: Scheduler = "linear"
    """Learning-rate schedule (a transformers scheduler)."""
    warmup_ratio: float = field(default=0.0, metadata=at_least(0))
    """Share of steps spent warming up, in [0, 1)."""
    weight_decay: float = field(default=0.0, metadata=at_least(0))
    """AdamW weight decay."""
    adam_beta2: float = 0.999
    """AdamW beta2."""
    max_grad_norm: float = field(default=1.0, metadata=at_least(0))
    """Gradient clipping."""
    batch_size: int = field(default=8, metadata=at_least(1))
    """Examples per device per step."""
    grad_accum: int = field(default=1, metadata=at_least(1))
    """Gradient accumulation steps."""
    max_length: int = field(default=512, metadata=at_least(2))
    """Longest example in tokens; longer prompts are cut from the left, targets never."""
    loss_on_prompt: bool = False
    """Also train on prompt tokens (the original InstructAlign code's behaviour; causal models only)."""
    head_on_targets: bool = True
    """Run the LM head over target positions only, in chunks (causal models, one process or DDP, full or LoRA:
    the same loss, less work and memory; FSDP keeps the model's own); off: the model's own loss."""
    group_by_length: bool = True
    """Batch examples of similar length together (less padding)."""
    save_steps: int = field(default=500, metadata=at_least(1))
    """Checkpoint every N steps into OUT/checkpoint-N."""
    save_total_limit: int | None = field(default=3, metadata=at_least(1))
    """Keep at most this many checkpoints."""
    report_to: list[Literal["tensorboard", "wandb", "mlflow", "none"]] = field(
        default_factory=lambda: ["tensorboard"]
    )
    """Where the Trainer logs loss, learning rate and throughput (OUT/tensorboard; W&B and MLflow need their
    package and its usual environment variables); none: nowhere."""
    logging_steps: int = field(default=10, metadata=at_least(1))
    """Log loss and throughput every N steps."""
    precision: Precision = "auto"
    """auto (bf16 on a GPU that has it, else fp32), fp32, bf16 or fp16."""
    gradient_checkpointing: bool = False
    """Recompute activations in the backward pass to save memory."""
    seed: int = field(default=42, metadata=SEED)
    """Seed of model init, data order and dropout."""
    monitor: bool = False
    """Score the model while it trains: at step 0 and every --monitor-every steps, on a small probe
    (OUT/monitor.csv, TensorBoard, one line each)."""
    monitor_task: str = "nusax_senti"
    """Classification task(s) of the probe, named as for eval (comma-separated for several)."""
    monitor_data: str | None = field(default=None, metadata=PATH)
    """Where the probe's task files are, as for eval (one folder, or TASK=PATH,...)."""
    monitor_split: str = "valid"
    """Split of the probe (the test split is refused: choosing a checkpoint on it is selection on the
    evaluation set)."""
    monitor_limit: int = field(default=50, metadata=at_least(1))
    """Sentences per language in each probe."""
    monitor_every: int = field(default=100, metadata=at_least(1))
    """Steps between probes."""
    monitor_prompt_langs: list[str] = field(default_factory=lambda: ["en"])
    """Template languages of the probe (fewer templates, a cheaper probe)."""
    monitor_templates: int = field(default=1, metadata=at_least(1))
    """Templates of each of those languages in the probe, the task's first N (as eval scores them given the
    same number)."""
    monitor_roles: str | None = None
    """Language groups of the probe, e.g. 'L1=eng,ind;L2=jav,sun' (default: L1 = the data's pivots, L2 = its
    targets, L3 = the task's other languages)."""
    embeddings_warmup: int = field(default=0, metadata=at_least(0))
    """For a model from vocab extend: train only the new embedding rows (and an untied head's) for the first K
    steps, then everything."""
    embeddings_lr: float | None = field(default=None, metadata=above(0))
    """A learning rate of their own for the embedding matrix (and an untied head) (default: the run's lr)."""
    replay_share: float | None = field(default=None, metadata=at_least(0))
    """Draw alignment and replay rows (source: replay) as two pools, this share of each batch replayed (needs
    a step count, max_steps; default: plain sampling of the mix as built)."""
    replay_guard: float | None = field(default=None, metadata=above(0))
    """With --monitor: a replay share that rises by 0.1 (up to 0.9) after each probe whose L1 is more than
    MARGIN points below step 0's, and falls back toward the starting share (replay_share, default: the data's
    own) once L1 is within MARGIN/2."""
    keep_best: str | None = None
    """With --monitor: also write OUT/best/, the probed step with the highest L2 ('l2'), or the highest L2
    among steps whose L1 stays within MARGIN points of step 0's ('l1-kept-l2[:MARGIN]', default 2)."""


@dataclass
class ReportConfig:
    """`instructalign report`: compare eval runs against a baseline, in tables and plots."""

    run: list[str] = field(default_factory=list, metadata=REPEAT)
    """NAME=DIR[,DIR2,...]: an eval output folder (or a folder holding one) per seed."""
    baseline: str | None = None
    """Name of the run the others are compared with (default: the first)."""
    control: str | None = None
    """Optional second reference run (e.g. replay-only), also compared against."""
    roles: str | None = None
    """Language groups, e.g. 'L1=eng,ind;L2=jav,sun;L3=mad' (default: the roles the eval runs recorded)."""
    similarity_data: str | None = field(default=None, metadata=PATH)
    """Parallel text for language similarity: a NusaX folder (mt/train.csv) or a wide CSV."""
    task: str | None = None
    """Task to report from eval outputs that scored several (default: one report per task, OUTPUT/<task>/)."""
    title: str = "InstructAlign report"
    """Report title."""
    bootstrap: int = field(default=2000, metadata=at_least(100))
    """Bootstrap resamples of the one-seed (sentence-level) 95% intervals."""
    margin: float = field(default=2.0, metadata=above(0))
    """Non-inferiority margin for 'L1 kept', in weighted-F1 points: the lower bound of (run - base) must
    exceed -margin."""
    seed: int = field(default=0, metadata=SEED)
    """Seed of the bootstrap."""
    notes: list[str] = field(default_factory=list, metadata=YAML_ONLY)
    """Extra paragraphs for the report (the demo adds its summary here)."""
    output: str | None = field(default=None, metadata=PATH)
    """Output folder: report.md, report.html, *.csv, *.png."""
    overwrite: bool = False
    """Write into an existing output folder that another command, or a report with other settings, wrote."""


@dataclass
class MergeConfig:
    """`instructalign merge`: a LoRA adapter merged into its base as trained, or (with --alpha) a tuned model
    interpolated back toward its base (WiSE-FT), after training."""

    base: str | None = field(default=None, metadata=PATH)
    """The model the tuned one started from: folder or hub id (default: an adapter's own base)."""
    tuned: str | None = field(default=None, metadata=PATH)
    """A train output's final/ folder: full weights, or a LoRA adapter."""
    base_model_id: str | None = None
    """The hub id of --base when it is a local folder, for the model card (as train's --base-model-id)."""
    alpha: float | None = None
    """Interpolate toward the base, θ = (1 − α)·θ_base + α·θ_tuned: 0 gives the base, 1 the tuned model
    (default: 1, the adapter or fine-tune merged as trained, as peft's merge_and_unload; interpolation only
    when asked)."""
    output: str | None = field(default=None, metadata=PATH)
    """Output folder: a Hugging Face model folder with a model card naming both parents and α."""
    overwrite: bool = False
    """Replace an existing output folder that another command, or a merge with other settings, wrote."""


@dataclass
class DemoConfig:
    """`instructalign demo`: the whole method end to end, offline, on NusaX and a small stand-in model."""

    data: str | None = field(default=None, metadata=PATH)
    """NusaX folder (default: $INSTRUCTALIGN_NUSAX, else the cache of 'instructalign data download nusax')."""
    output: str = field(default="out/demo", metadata=PATH)
    """Output folder: report.md, report.html, demo_summary.json, runs/."""
    seeds: int = field(default=1, metadata=at_least(1))
    """Repeat the trained runs (base model included) with this many seeds."""
    quick: bool = False
    """A much smaller model and a few dozen steps: a smoke test of the pipeline (about 1-2 minutes)."""
    split: Literal["test", "valid"] = "test"
    """Split the models are evaluated on: test, or valid while choosing the recipe."""
    align_data: Literal["nusax", "sib200"] = "nusax"
    """Alignment bitext: nusax (NusaX mt/train, the evaluation's domain) or sib200 (FLORES-200 sentences, as
    in the paper)."""
    sib200: str | None = field(default=None, metadata=PATH)
    """SIB-200 folder: the second task of the demo and the transfer study (topics, which their base learns in
    L1), and the text of --align-data sib200 (default: $INSTRUCTALIGN_SIB200, else 'sib200' beside the NusaX
    folder, else the cache of 'instructalign data download sib200')."""
    jobs: int = field(default=2, metadata=at_least(1))
    """Worker processes for a seed's independent runs and evaluations (1: in this process, with progress
    bars)."""
    overwrite: bool = False
    """Write into an existing output folder that something other than this command wrote."""


@dataclass
class StudyConfig(DemoConfig):
    """`instructalign study NAME`: one of the paper's studies on the demo's stand-in, with intervals."""

    output: str = field(default="out/study", metadata=PATH)
    """Output folder: report.md, report.html, study.csv, study_summary.json, runs/ (reused when resumed)."""
    runs: str | None = field(default=None, metadata=PATH)
    """Folder of trained runs and their evaluations, found by a hash of their settings and shared by the
    studies that name it (default: OUTPUT/runs). The interpolate study's replay-only and aligned runs are the
    replay study's, for instance."""
    base_model: str | None = field(default=None, metadata=PATH)
    """Run the study on this model instead of the stand-in: a hub id or folder (e.g. bigscience/bloomz-560m on
    a GPU); training and evaluation settings come from the config's recipe: section. Needs --replay-data."""
    replay_data: str | None = field(default=None, metadata=PATH)
    """The base model's earlier instruction data that runs replay: a JSONL of prompt/target rows or a `data
    build` output folder (e.g. a replay-only build of hf:bigscience/xP3:en)."""
    nusawrites: str | None = field(default=None, metadata=PATH)
    """NusaWrites folder for the transfer study (default: $INSTRUCTALIGN_NUSAWRITES, else 'nusawrites' beside
    the NusaX folder)."""
    study: str = field(default="objectives", metadata=YAML_ONLY)
    """The study: a name in the registry `instructalign.study.STUDIES` (`instructalign study --help` lists
    them, each with its question)."""


@dataclass(frozen=True)
class Recipe:
    """The experiments' recipe (the demo's and every study's): the stand-in's shape, how its base is trained,
    and how every continual run trains and is evaluated. Set in a `recipe:` section of a config file
    (`configs/demo.yaml`; `demo:`, its older name, is still read).

    Chosen on the NusaX valid split; the report's numbers are on test. `--quick` starts from a smaller
    preset, and a config file changes only the settings it writes.
    """

    vocab_size: int = field(default=4000, metadata=at_least(300))
    """Byte-level BPE vocabulary of the stand-in's tokenizer."""
    d_model: int = field(default=192, metadata=at_least(8))
    """Width of the stand-in GPT-2-style decoder."""
    n_layer: int = field(default=3, metadata=at_least(1))
    """Its layers."""
    n_head: int = field(default=4, metadata=at_least(1))
    """Its attention heads (must divide d_model)."""
    n_positions: int = field(default=512, metadata=at_least(16))
    """Its longest sequence."""
    tokenizer_l2: bool = True
    """The stand-in's tokenizer is also fit on the L2 languages' train text (off: on L1 text and the base's
    instruction data only, as a base that never saw them; the vocab study)."""
    base_topics: int = field(default=0, metadata=at_least(0))
    """Times each English/Indonesian SIB-200 train example enters the stand-in base's instruction data (0:
    none): a second task it knows in L1 only, whose transfer to L2 can be measured (the transfer study)."""
    dropout: float = field(default=0.0, metadata=at_least(0))
    """Dropout everywhere in the stand-in."""
    activation: Literal["gelu", "gelu_new", "relu", "silu"] = "gelu"
    """MLP activation."""
    batch_size: int = field(default=16, metadata=at_least(1))
    """Examples per step in every training stage."""
    max_length: int = field(default=384, metadata=at_least(16))
    """Longest training example in tokens."""
    base_full_steps: int = field(default=700, metadata=at_least(1))
    """Base model, stage 1: steps with the loss on the whole sequence."""
    base_full_lr: float = field(default=1.5e-3, metadata=above(0))
    """Base model, stage 1: learning rate."""
    base_target_steps: int = field(default=300, metadata=at_least(1))
    """Base model, stage 2: steps with the loss on targets only."""
    base_target_lr: float = field(default=7e-4, metadata=above(0))
    """Base model, stage 2: learning rate."""
    stage_steps: int = field(default=700, metadata=at_least(1))
    """Steps of each continual-tuning run."""
    stage_lr: float = field(default=5e-4, metadata=above(0))
    """Learning rate of each continual-tuning run."""
    stage_loss_on_prompt: bool = False
    """Continual runs put the prompt in the loss too, as the original code's causal-LM training did (measured
    on valid: no L2 gain over target-only, L1 worse, 2.6x slower per step)."""
    replay_share: float = field(default=0.5, metadata=at_least(0))
    """Replay share of the aligned+replay mix, in [0, 1)."""
    monitor_every: int = field(default=100, metadata=at_least(0))
    """Each continual run probes L1/L2/L3 every N steps while it trains (train --monitor, NusaX valid; 0:
    off); the report draws the curves."""
    monitor_limit: int = field(default=50, metadata=at_least(1))
    """Valid sentences per language in each probe."""
    eval_limit: int | None = field(default=150, metadata=at_least(1))
    """Evaluate the first N examples per language only (None: all; NusaX test has 400, in no label order)."""
    eval_prompt_langs: tuple[str, ...] = ("en", "id")
    """Prompt languages of the evaluation templates."""
    precision: Precision = "fp32"
    """Training number format (bf16 autocast was slower than fp32 for this small model on CPU)."""
    chat_template: str = "auto"
    """The runs' format (train and eval's --chat-template): auto is raw text for the stand-in, which has no
    template; a --base-model with one is trained and scored in it."""
    eval_precision: Precision = "fp32"
    """Evaluation number format (bf16 was slower than fp32 in single-thread workers on this CPU)."""


def as_dict(cfg) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


# every command's section of a config file -> its config class, in the CLI's order (`cli.COMMANDS` adds where
# each command sits, the function it runs and its help line)
CONFIGS: dict[str, type] = {
    "build": BuildConfig,
    "train": TrainConfig,
    "eval": EvalConfig,
    "report": ReportConfig,
    "merge": MergeConfig,
    "demo": DemoConfig,
    "study": StudyConfig,
    "export": ExportConfig,
    "card": CardConfig,
    "audit": VocabAuditConfig,
    "extend": VocabExtendConfig,
    "preview": DataPreviewConfig,
    "synth": SynthReplayConfig,
}
RECIPE_SECTIONS = ("recipe", "demo")  # the experiments' recipe; `demo:` is its older name
