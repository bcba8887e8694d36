"""`instructalign train`: continual crosslingual instruction tuning with `transformers.Trainer`.

Reads top to bottom: check the settings and the output folder, load model and tokenizer, tokenize the
built data (loss on target tokens only), wrap LoRA if asked, train with length-grouped batches (resuming
from the newest checkpoint), then save `final/` with a model card and `train_summary.json`.
Runs unchanged under `accelerate launch` or `torchrun` (DDP; FSDP/DeepSpeed through an accelerate config).
"""

from __future__ import annotations

import time
from pathlib import Path

from transformers import PrinterCallback, set_seed

from ..config import TrainConfig, as_dict
from ..errors import UserError
from ..files import cache_dir, check_writable, read_json, write_atomically, write_json
from ..models import load_model
from ..options import validate
from ..outputs import (
    check_output,
    check_path,
    disk_full_error,
    is_disk_full,
    is_main_process,
    maybe_locked,
    recover,
    replaced_folder,
)
from .card import model_card
from .data import PaddingCollator, build_dataset, report_truncation
from .embeddings import EmbeddingWarmup, check_warmup_settings, first_new_id
from .folder import (
    RUN_FILE,
    checkpoints,
    claim_run,
    clean_failed_start,
    is_complete,
    newest_checkpoint,
    run_identity,
)
from .guard import check_pool_settings, two_pools
from .monitor import MonitorCallback, parse_keep_best, prepare_probe
from .trainer import (
    AlignTrainer,
    CompleteCheckpointCallback,
    ThroughputCallback,
    tensorboard,
    training_arguments,
)


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
    validate(cfg)
    if not 0 <= cfg.warmup_ratio < 1:
        raise UserError(f"--warmup-ratio {cfg.warmup_ratio}: must be in [0, 1)")
    check_pool_settings(cfg)
    check_warmup_settings(cfg)
    inputs = [("--model", cfg.model), ("--data", cfg.data)]
    check_output(Path(cfg.output), inputs, replaces=cfg.overwrite)
    check_path(cache_dir(), "$INSTRUCTALIGN_CACHE (where the tokenized data is kept)")
    check_writable(cache_dir(), "$INSTRUCTALIGN_CACHE (where the tokenized data is kept)")
    return data_file, Path(cfg.output)


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


def train(cfg: TrainConfig, callbacks: tuple = ()) -> dict:
    """Train, resuming from the newest complete checkpoint; `callbacks` are extra `TrainerCallback`s.

    The output folder is locked for the run; a failure leaves no partial checkpoint, and a failed start
    leaves nothing behind."""
    data_file, out = check_settings(cfg)
    probe = prepare_probe(cfg)  # the probe's files, read before the model loads
    identity = run_identity(cfg, data_file)
    with maybe_locked(out):
        for saved in ("final", "best"):
            recover(out / saved)
        if out.exists():
            claim_run(out, identity, cfg.overwrite and is_main_process())
        if is_complete(out):
            print(f"{out}: this run is already complete; its model is in {out / 'final'}")
            return read_json(out / "train_summary.json")
        resume = newest_checkpoint(out) if out.exists() else None
        fresh = not (out.exists() and checkpoints(out))
        try:
            return run_training(cfg, data_file, out, identity, resume, callbacks, probe)
        except BaseException as exc:
            if is_main_process():
                clean_failed_start(out, fresh)
            if is_disk_full(exc):
                raise disk_full_error(out, exc) from None
            raise


def run_training(
    cfg: TrainConfig, data_file: Path, out: Path, identity: dict, resume, callbacks, probe=None
) -> dict:
    model, tokenizer, seq2seq = load_model(cfg.model)
    dataset, lengths, stats, cache_key, reused = build_dataset(
        data_file,
        tokenizer,
        seq2seq,
        cfg.max_length,
        cfg.loss_on_prompt and not seq2seq,
        identity["data_sha256"],
    )
    print(f"tokenized data: {'reused' if reused else 'built'} cache {cache_key} ({len(lengths):,} examples)")
    report_truncation(stats, cfg.max_length)
    if cfg.lora:
        set_seed(cfg.seed)  # the adapters' initial weights come from --seed (torch seeds itself randomly)
        model = wrap_lora(model, cfg, seq2seq)
    model.train()

    out.mkdir(parents=True, exist_ok=True)
    write_json(out / RUN_FILE, identity)
    collator = PaddingCollator(tokenizer.pad_token_id, seq2seq)
    progress = ThroughputCallback(collator)
    monitor = probe and MonitorCallback(
        probe, out, cfg.monitor_every, tokenizer, seq2seq, parse_keep_best(cfg.keep_best)
    )
    args = training_arguments(cfg, out)
    pools = two_pools(cfg, dataset, lengths, cache_key, args, resume, collator, monitor)
    # the guard reads the probe; the checkpoint marker comes after the guard's file; the caller's last
    warmup = cfg.embeddings_warmup and EmbeddingWarmup(model, first_new_id(cfg.model), cfg.embeddings_warmup)
    ordered = [
        progress,
        *filter(None, [monitor, pools and pools.callback, warmup]),
        CompleteCheckpointCallback(),
        tensorboard(out),
        *callbacks,
    ]
    trainer = AlignTrainer(
        model=model,
        args=args,
        train_dataset=pools.slots if pools else dataset,
        data_collator=pools.collator if pools else collator,
        processing_class=tokenizer,
        callbacks=ordered,
        lengths=lengths,
        head_on_targets=cfg.head_on_targets,
        pools=pools and (pools.schedule, collator.counts, seq2seq),
        embeddings_lr=cfg.embeddings_lr,
    )
    if (monitor or warmup) and trainer.is_fsdp_enabled:
        raise UserError("--monitor and --embeddings-warmup under FSDP: train without them, or with DDP")
    if monitor:
        monitor.trainer = trainer
    loss_path = "head on targets" if trainer.target_positions_only(trainer.model) else "model's own loss"
    if cfg.head_on_targets and loss_path != "head on targets":
        print(
            "loss: the model's own (the target-only head is not exact here: encoder-decoder, FSDP, prompt "
            "tuning or scaled logits)"
        )
    # the progress bar shows loss and tokens/s and TensorBoard has the rest: no log dicts on stdout
    trainer.remove_callback(PrinterCallback)
    start = time.perf_counter()
    try:
        result = trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    finally:
        progress.close()
    wall = time.perf_counter() - start

    # every rank takes part in gathering the weights (sharded under FSDP); rank 0 writes them
    state_dict = trainer.accelerator.get_state_dict(trainer.model)
    if trainer.is_world_process_zero():
        model = trainer.accelerator.unwrap_model(trainer.model)
        save_final(model, state_dict, tokenizer, cfg, out / "final", seq2seq)
    summary = {
        "steps": trainer.state.global_step,
        "resumed_from": resume.name if resume else None,
        "examples": stats["examples"],
        "examples_truncated": stats["truncated_prompt"],
        "examples_dropped": stats["dropped_target_too_long"],
        "tokenized_cache": cache_key,
        "loss_path": loss_path,
        "tokens_seen": collator.counts["real_tokens"],
        "target_tokens": collator.counts["target_tokens"],
        "padding_share": collator.padding_share(),
        "wall_seconds": wall,
        "tokens_per_second": collator.counts["real_tokens"] / max(wall, 1e-9),
        "target_tokens_per_second": collator.counts["target_tokens"] / max(wall, 1e-9),
        "train_loss": result.training_loss,
        "processes": trainer.args.world_size,
        "best": monitor.best if monitor else None,  # --keep-best: the step kept in best/, and why
        **(pools.summary(trainer.state.global_step) if pools else {}),
        "note": "token counts are this process's; multiply by processes for the whole run"
        if trainer.args.world_size > 1
        else None,
    }
    if trainer.is_world_process_zero():
        write_json(out / "train_summary.json", summary)
        print(
            f"trained {summary['steps']} steps in {wall:.0f}s, {summary['tokens_per_second']:,.0f} tokens/s, "
            f"padding {100 * summary['padding_share']:.1f}%; model in {out / 'final'}"
        )
    return summary


def save_final(model, state_dict, tokenizer, cfg: TrainConfig, final: Path, seq2seq: bool) -> None:
    """Hugging Face format, written to a temporary folder and swapped in: merged, full, or adapter-only.

    `state_dict` is the full (gathered) state of the trained model, as accelerate returns it on rank 0.
    """
    kind = "full fine-tuning"
    if cfg.lora and cfg.merge_lora:
        model.load_state_dict(state_dict)
        model, kind, state_dict = model.merge_and_unload(), "LoRA, merged into the base weights", None
    elif cfg.lora:
        kind = "LoRA adapter only (load it on top of the base model; instructalign eval does this itself)"
    with replaced_folder(final) as tmp:
        model.save_pretrained(str(tmp), state_dict=state_dict)
        tokenizer.save_pretrained(str(tmp))
        write_json(tmp / "instructalign_train_config.json", as_dict(cfg))
        write_atomically(tmp / "README.md", model_card(cfg, kind, seq2seq))  # front matter + prose
