"""`instructalign train`: continual crosslingual instruction tuning with `transformers.Trainer`.

Reads top to bottom: check the settings and the output folder, load model and tokenizer, tokenize the
built data (loss on target tokens only), wrap LoRA if asked, train with length-grouped batches (resuming
from the newest checkpoint), then save `final/` with a model card and `train_summary.json`.
Runs unchanged under `accelerate launch` or `torchrun` (DDP; FSDP/DeepSpeed through an accelerate config).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import torch
from transformers import PrinterCallback, Trainer, TrainerCallback, TrainingArguments

from .config import TrainConfig, as_dict
from .data.bitext import sha256_file
from .errors import UserError
from .models import load_model
from .train_data import PaddingCollator, SeededLengthGroupedSampler, build_dataset

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
RUN_FILE = "train_config.json"


def check_settings(cfg: TrainConfig) -> tuple[Path, Path]:
    if not cfg.model:
        raise UserError("no --model given; name a hub id or a model folder")
    if not cfg.data or not cfg.output:
        raise UserError("--data (a built folder) and --output are required")
    data_file = Path(cfg.data) / "train.jsonl"
    if not Path(cfg.data).is_dir() or not data_file.is_file():
        raise UserError(
            f"{cfg.data}: no train.jsonl here; build one with 'instructalign data build --output {cfg.data}'"
        )
    if cfg.precision not in PRECISIONS:
        raise UserError(f"--precision {cfg.precision}: choose from {', '.join(PRECISIONS)}")
    for name in ("batch_size", "grad_accum", "max_length", "save_steps", "logging_steps"):
        if getattr(cfg, name) < 1:
            raise UserError(f"--{name.replace('_', '-')} must be at least 1")
    if cfg.lr <= 0:
        raise UserError(f"--lr {cfg.lr}: must be positive")
    if not 0 <= cfg.warmup_ratio < 1:
        raise UserError(f"--warmup-ratio {cfg.warmup_ratio}: must be in [0, 1)")
    return data_file, Path(cfg.output)


def run_identity(cfg: TrainConfig, data_file: Path) -> dict:
    """What must match for a rerun to resume: every setting (logging aside) and the data's hash."""
    settings = {
        k: v for k, v in as_dict(cfg).items() if k not in ("output", "logging_steps", "save_total_limit")
    }
    return {"settings": settings, "data_sha256": sha256_file(data_file)}


def checkpoints(out: Path) -> list[Path]:
    found = [
        p
        for p in out.glob("checkpoint-*")
        if p.name.split("-")[-1].isdigit() and (p / "trainer_state.json").is_file()
    ]
    return sorted(found, key=lambda p: int(p.name.split("-")[-1]))


def check_output(out: Path, identity: dict) -> Path | None:
    """The checkpoint to resume from, or None; refuse a folder that holds another run."""
    saved = out / RUN_FILE
    if not saved.is_file():
        if checkpoints(out):
            raise UserError(
                f"{out}: holds checkpoints of an unknown run; choose another --output or remove the folder"
            )
        return None
    previous = json.loads(saved.read_text("utf-8"))
    if previous != identity:
        diff = [
            k
            for k in set(previous["settings"]) | set(identity["settings"])
            if previous["settings"].get(k) != identity["settings"].get(k)
        ]
        what = f"settings {', '.join(sorted(diff))}" if diff else "the data (train.jsonl changed)"
        raise UserError(
            f"{out}: holds a run with different {what}; rerun with the same settings to resume, "
            "or choose a new --output to start fresh"
        )
    found = checkpoints(out)
    return found[-1] if found else None


def precision_flags(precision: str) -> dict:
    if precision == "auto":
        precision = "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "fp32"
    return {"bf16": precision == "bf16", "fp16": precision == "fp16"}


def wrap_lora(model, cfg: TrainConfig, seq2seq: bool):
    from peft import LoraConfig, TaskType, get_peft_model

    lora = LoraConfig(
        r=cfg.lora_r,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=cfg.lora_dropout,
        target_modules=cfg.lora_targets or None,
        task_type=TaskType.SEQ_2_SEQ_LM if seq2seq else TaskType.CAUSAL_LM,
    )
    try:
        return get_peft_model(model, lora)
    except ValueError as exc:
        raise UserError(f"LoRA: {str(exc).splitlines()[0]}; name the modules with --lora-targets") from None


class AlignTrainer(Trainer):
    """`Trainer` whose length-grouped sampler is seeded, so order survives a resume and matches across ranks,
    and whose causal-LM loss projects only the target positions through the LM head (single process, no LoRA):
    the same loss as the model's own, without a vocabulary-sized softmax over every prompt token."""

    def target_positions_only(self, model) -> bool:
        unwrapped = self.accelerator.unwrap_model(model)
        config = getattr(unwrapped, "config", None)
        return (
            self.args.world_size == 1
            and config is not None
            and not config.is_encoder_decoder
            and unwrapped.get_output_embeddings() is not None
            and unwrapped.base_model is not unwrapped
            and not any(
                getattr(config, k, None) for k in ("final_logit_softcapping", "logit_scale", "logits_scaling")
            )
            and not hasattr(unwrapped, "peft_config")
        )

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if return_outputs or not self.target_positions_only(model):
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        targets = inputs["labels"][:, 1:]
        keep = targets != -100
        with self.accelerator.autocast():  # the prepared model's forward, and its autocast, is bypassed here
            hidden = model.base_model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"])
            logits = model.get_output_embeddings()(hidden.last_hidden_state[:, :-1][keep]).float()
        loss = torch.nn.functional.cross_entropy(logits, targets[keep], reduction="sum")
        return loss / (num_items_in_batch if num_items_in_batch is not None else keep.sum().clamp(min=1))

    def _get_train_sampler(self, train_dataset=None):
        dataset = train_dataset if train_dataset is not None else self.train_dataset
        if not self.args.train_sampling_strategy == "group_by_length":
            return super()._get_train_sampler(train_dataset)
        return SeededLengthGroupedSampler(
            self.args.train_batch_size * self.args.gradient_accumulation_steps,
            dataset["length"],
            self.args.seed,
        )


class ThroughputCallback(TrainerCallback):
    """A tqdm bar with loss and tokens/s; the same figures go to the logs (and TensorBoard)."""

    def __init__(self, collator: PaddingCollator):
        self.collator, self.bar, self.start = collator, None, None

    def on_train_begin(self, args, state, control, **kwargs):
        from tqdm.auto import tqdm

        if state.is_world_process_zero:
            self.bar = tqdm(total=state.max_steps, initial=state.global_step, desc="train", unit="step")
        self.start, self.tokens0 = time.perf_counter(), self.collator.counts["real_tokens"]

    def on_step_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.bar.update(state.global_step - self.bar.n)

    def on_log(self, args, state, control, logs=None, **kwargs):
        rate = (self.collator.counts["real_tokens"] - self.tokens0) / max(
            time.perf_counter() - self.start, 1e-9
        )
        if logs is not None:
            logs["tokens_per_second"] = rate
        if self.bar is not None and logs and "loss" in logs:
            self.bar.set_postfix(loss=f"{logs['loss']:.3f}", tok_s=f"{rate:,.0f}")

    def on_train_end(self, args, state, control, **kwargs):
        if self.bar is not None:
            self.bar.close()


def checkpointing_flag(on: bool) -> dict:
    """Activation (gradient) checkpointing, under its transformers 5 name where it has one."""
    import inspect

    name = (
        "activation_checkpointing"
        if "activation_checkpointing" in inspect.signature(TrainingArguments).parameters
        else "gradient_checkpointing"
    )
    return {name: on}


def training_arguments(cfg: TrainConfig, out: Path) -> TrainingArguments:
    return TrainingArguments(
        output_dir=str(out),
        per_device_train_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.grad_accum,
        learning_rate=cfg.lr,
        lr_scheduler_type=cfg.lr_scheduler,
        warmup_steps=cfg.warmup_ratio,
        weight_decay=cfg.weight_decay,
        adam_beta2=cfg.adam_beta2,
        max_grad_norm=cfg.max_grad_norm,
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps,
        save_strategy="steps",
        save_steps=cfg.save_steps,
        save_total_limit=cfg.save_total_limit,
        logging_steps=cfg.logging_steps,
        report_to=[],  # TensorBoard is added as a callback writing to OUT/tensorboard
        seed=cfg.seed,
        train_sampling_strategy="group_by_length" if cfg.group_by_length else "random",
        remove_unused_columns=False,
        **checkpointing_flag(cfg.gradient_checkpointing),
        ddp_backend="gloo"
        if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.cuda.is_available()
        else None,
        disable_tqdm=True,
        dataloader_pin_memory=torch.cuda.is_available(),
        use_cpu=not torch.cuda.is_available(),
        **precision_flags(cfg.precision),
    )


def train(cfg: TrainConfig) -> dict:
    data_file, out = check_settings(cfg)
    identity = run_identity(cfg, data_file)
    if (out / "final" / "config.json").is_file() and (out / "train_summary.json").is_file():
        check_output(out, identity)
        print(f"{out}: this run is already complete; its model is in {out / 'final'}")
        return json.loads((out / "train_summary.json").read_text("utf-8"))
    resume = check_output(out, identity) if out.exists() else None

    model, tokenizer, seq2seq = load_model(cfg.model)
    dataset, stats = build_dataset(
        data_file, tokenizer, seq2seq, cfg.max_length, cfg.loss_on_prompt and not seq2seq
    )
    report_truncation(stats, cfg.max_length)
    if cfg.lora:
        model = wrap_lora(model, cfg, seq2seq)
    model.train()

    out.mkdir(parents=True, exist_ok=True)
    (out / RUN_FILE).write_text(json.dumps(identity, indent=2, sort_keys=True) + "\n", "utf-8")
    collator = PaddingCollator(tokenizer.pad_token_id, seq2seq)
    args = training_arguments(cfg, out)
    trainer = AlignTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        data_collator=collator,
        processing_class=tokenizer,
        callbacks=[ThroughputCallback(collator), tensorboard(out)],
    )
    # the progress bar shows loss and tokens/s and TensorBoard has the rest: no log dicts on stdout
    trainer.remove_callback(PrinterCallback)
    start = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    wall = time.perf_counter() - start

    if trainer.is_world_process_zero():
        save_final(trainer.model, tokenizer, cfg, out / "final", seq2seq)
    summary = {
        "steps": trainer.state.global_step,
        "resumed_from": resume.name if resume else None,
        "examples": stats["examples"],
        "examples_truncated": stats["truncated_prompt"],
        "examples_dropped": stats["dropped_target_too_long"],
        "tokens_seen": collator.counts["real_tokens"],
        "target_tokens": collator.counts["target_tokens"],
        "padding_share": collator.padding_share(),
        "wall_seconds": wall,
        "tokens_per_second": collator.counts["real_tokens"] / max(wall, 1e-9),
        "target_tokens_per_second": collator.counts["target_tokens"] / max(wall, 1e-9),
        "train_loss": result.training_loss,
        "processes": trainer.args.world_size,
        "note": "token counts are this process's; multiply by processes for the whole run"
        if trainer.args.world_size > 1
        else None,
    }
    if trainer.is_world_process_zero():
        (out / "train_summary.json").write_text(json.dumps(summary, indent=2) + "\n", "utf-8")
        print(
            f"trained {summary['steps']} steps in {wall:.0f}s, {summary['tokens_per_second']:,.0f} tokens/s, "
            f"padding {100 * summary['padding_share']:.1f}%; model in {out / 'final'}"
        )
    return summary


def tensorboard(out: Path):
    from torch.utils.tensorboard import SummaryWriter
    from transformers.integrations import TensorBoardCallback

    return TensorBoardCallback(tb_writer=SummaryWriter(log_dir=str(out / "tensorboard")))


def report_truncation(stats, max_length: int) -> None:
    if stats["truncated_prompt"] or stats["dropped_target_too_long"]:
        print(
            f"max-length {max_length}: {stats['truncated_prompt']} prompts cut from the left, "
            f"{stats['dropped_target_too_long']} examples dropped (target alone too long)"
        )


def save_final(model, tokenizer, cfg: TrainConfig, final: Path, seq2seq: bool) -> None:
    """Hugging Face format, written to a temporary folder and renamed: merged, full, or adapter-only."""
    tmp = final.with_name(final.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    kind = "full fine-tuning"
    if cfg.lora and cfg.merge_lora:
        model, kind = model.merge_and_unload(), "LoRA, merged into the base weights"
    elif cfg.lora:
        kind = "LoRA adapter only (load it on top of the base model; instructalign eval does this itself)"
    model.save_pretrained(str(tmp))
    tokenizer.save_pretrained(str(tmp))
    (tmp / "instructalign_train_config.json").write_text(json.dumps(as_dict(cfg), indent=2) + "\n", "utf-8")
    (tmp / "README.md").write_text(model_card(cfg, kind, seq2seq), "utf-8")
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)


def model_card(cfg: TrainConfig, kind: str, seq2seq: bool) -> str:
    manifest_path = Path(cfg.data) / "manifest.json"
    counts = json.loads(manifest_path.read_text("utf-8"))["counts"] if manifest_path.is_file() else {}
    return f"""# {Path(cfg.output).name}

Continual crosslingual instruction tuning (InstructAlign) of `{cfg.model}` with instructalign.

- Weights: {kind}.
- Architecture: {"encoder-decoder" if seq2seq else "decoder-only"}.
- Data: `{cfg.data}` — {counts.get("total", "?")} examples; by source {counts.get("by_source", {})}; by objective {counts.get("by_objective", {})}.
- Loss: {"prompt and target tokens" if cfg.loss_on_prompt else "target tokens only (prompt tokens masked)"}, EOS after the target.
- Optimisation: lr {cfg.lr} ({cfg.lr_scheduler}), batch {cfg.batch_size} x {cfg.grad_accum}, max length {cfg.max_length},
  {"max steps " + str(cfg.max_steps) if cfg.max_steps > 0 else str(cfg.epochs) + " epoch(s)"}, seed {cfg.seed}.

The full resolved config is in `instructalign_train_config.json`.
"""
