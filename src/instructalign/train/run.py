"""`instructalign train`: continual crosslingual instruction tuning with `transformers.Trainer`.

Reads top to bottom: check the settings and the output folder, load model and tokenizer, tokenize the
built data (loss on target tokens only), wrap LoRA if asked, train with length-grouped batches (resuming
from the newest checkpoint), then save `final/` with a model card and `train_summary.json`.
Runs unchanged under `accelerate launch` or `torchrun` (DDP; FSDP/DeepSpeed through an accelerate config).
"""

from __future__ import annotations

import importlib.util
import time
from dataclasses import replace
from functools import partial
from pathlib import Path

from transformers import PrinterCallback, set_seed

from ..chat import chat_format, check_setting, trained_setting
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
from .embeddings import EmbeddingWarmup, check_warmup_settings, first_new_id, new_rows_start
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
    check_setting(cfg.chat_template)
    check_report_to(cfg.report_to)
    check_warmup_settings(cfg)
    inputs = [("--model", cfg.model), ("--data", cfg.data)]
    check_output(Path(cfg.output), inputs, replaces=cfg.overwrite)
    check_path(cache_dir(), "$INSTRUCTALIGN_CACHE (where the tokenized data is kept)")
    check_writable(cache_dir(), "$INSTRUCTALIGN_CACHE (where the tokenized data is kept)")
    return data_file, Path(cfg.output)


def check_report_to(targets: list[str]) -> None:
    """`--report-to`: none alone, and each tool installed."""
    if "none" in targets and len(targets) > 1:
        raise UserError(f"--report-to {','.join(targets)}: 'none' means no logging; give it alone")
    for name, module in (("wandb", "wandb"), ("mlflow", "mlflow")):
        if name in targets and importlib.util.find_spec(module) is None:
            raise UserError(f"--report-to {name}: the {name} package is not installed (pip install {name})")


FULL_LR, LORA_LR = 1e-5, 1e-4  # the paper's full fine-tuning rate, and LoRA recipes' usual one


def wrap_lora(model, cfg: TrainConfig, seq2seq: bool):
    """The model with LoRA adapters; rows that `vocab extend` added train too (`--lora-new-tokens`)."""
    from peft import LoraConfig, TaskType, get_peft_model

    lora = LoraConfig(
        r=cfg.lora_r,
        lora_alpha=cfg.lora_alpha,
        lora_dropout=cfg.lora_dropout,
        target_modules=cfg.lora_targets or None,
        task_type=TaskType.SEQ_2_SEQ_LM if seq2seq else TaskType.CAUSAL_LM,
        **new_token_settings(model, cfg),
    )
    try:
        return get_peft_model(model, lora)
    except ValueError as exc:
        raise UserError(f"LoRA: {str(exc).splitlines()[0]}; name the modules with --lora-targets") from None


def new_token_settings(model, cfg: TrainConfig) -> dict:
    """peft's settings for the rows `vocab extend` added (none for a model it did not write): those rows alone
    (trainable_token_indices), the whole embedding matrix and untied head (modules_to_save), or nothing."""
    first = new_rows_start(cfg.model)
    if first is None or cfg.lora_new_tokens == "frozen":
        return {}
    names = {id(m): name.rpartition(".")[2] for name, m in model.named_modules()}
    embedding = names[id(model.get_input_embeddings())]
    if cfg.lora_new_tokens == "rows":
        rows = list(range(first, model.get_input_embeddings().weight.shape[0]))
        return {"trainable_token_indices": {embedding: rows}}
    head = model.get_output_embeddings()
    untied = head is not None and head.weight is not model.get_input_embeddings().weight
    return {"modules_to_save": [embedding] + ([names[id(head)]] if untied else [])}


def train(cfg: TrainConfig, callbacks: tuple = ()) -> dict:
    """Train, resuming from the newest complete checkpoint; `callbacks` are extra `TrainerCallback`s.

    The output folder is locked for the run; a failure leaves no partial checkpoint, and a failed start
    leaves nothing behind."""
    data_file, out = check_settings(cfg)
    cfg = replace(cfg, lr=cfg.lr or (LORA_LR if cfg.lora else FULL_LR))
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
    fmt = chat_format(tokenizer, cfg.chat_template, seq2seq, cfg.system, trained_setting(cfg.model))
    if not fmt.raw:
        tokenizer.chat_template = fmt.template  # saved with final/ and best/: eval meets the same format
    dataset, lengths, stats, cache_key, reused = build_dataset(
        data_file,
        tokenizer,
        seq2seq,
        cfg.max_length,
        cfg.loss_on_prompt and not seq2seq,
        identity["data_sha256"],
        fmt,
    )
    print(
        f"tokenized data ({'raw text' if fmt.raw else f'conversations, chat template ({fmt.source})'}): "
        f"{'reused' if reused else 'built'} cache {cache_key} ({len(lengths):,} examples)"
    )
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
        probe,
        out,
        cfg.monitor_every,
        tokenizer,
        seq2seq,
        parse_keep_best(cfg.keep_best),
        "tensorboard" in cfg.report_to,
        fmt=fmt,
        describe=partial(describe_model, cfg=cfg, seq2seq=seq2seq),
    )
    args = training_arguments(cfg, out)
    pools = two_pools(cfg, dataset, lengths, cache_key, args, resume, collator, monitor)
    # the guard reads the probe; the checkpoint marker comes after the guard's file; the caller's last
    warmup = cfg.embeddings_warmup and EmbeddingWarmup(model, first_new_id(cfg.model), cfg.embeddings_warmup)
    ordered = [
        progress,
        *filter(None, [monitor, pools and pools.callback, warmup]),
        CompleteCheckpointCallback(),
        *([tensorboard(out)] if "tensorboard" in cfg.report_to else []),
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
        **fmt.record(),
        "boundary_tokens": stats["boundary_tokens"],  # tokens holding text of both sides of a turn's edge
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
    merged = cfg.lora and cfg.merge_lora
    if merged:
        model.load_state_dict(state_dict)
        model, state_dict = model.merge_and_unload(), None
    with replaced_folder(final) as tmp:
        model.save_pretrained(str(tmp), state_dict=state_dict)
        tokenizer.save_pretrained(str(tmp))
        describe_model(tmp, cfg, seq2seq, merged)


def describe_model(folder: Path, cfg: TrainConfig, seq2seq: bool, merged: bool = False) -> None:
    """What a saved model of this run carries beside its weights (final/ and best/ alike): the run's settings
    (eval reads its language groups through them) and a model card."""
    kind = "full fine-tuning"
    if merged:
        kind = "LoRA, merged into the base weights"
    elif cfg.lora:
        kind = "LoRA adapter only (load it on top of the base model; instructalign eval does this itself)"
    write_json(folder / "instructalign_train_config.json", as_dict(cfg))
    write_atomically(folder / "README.md", model_card(cfg, kind, seq2seq))  # front matter + prose
