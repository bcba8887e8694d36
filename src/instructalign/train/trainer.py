"""The `transformers.Trainer` that instructalign trains with, its arguments and its progress callback.

`AlignTrainer` overrides only what it must: a seeded length-grouped sampler (same order after a resume and
on every rank) and, for a causal LM (one process or DDP, full or LoRA), a loss that projects only target
positions through the LM head — the model's own loss without a vocabulary-sized softmax over every prompt
token.
"""

from __future__ import annotations

import inspect
import os
import time
from pathlib import Path

import torch
from transformers import Trainer, TrainerCallback, TrainingArguments

from ..config import TrainConfig
from ..files import completion_problem, mark_complete, read_json
from .data import PaddingCollator, SeededLengthGroupedSampler
from .embeddings import with_embedding_lr
from .guard import GUARD_STATE, choose


def precision_flags(precision: str) -> dict:
    if precision == "auto":
        precision = "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "fp32"
    return {"bf16": precision == "bf16", "fp16": precision == "fp16"}


HEAD_CHUNK_BYTES = 2**28  # logits of one chunk of target positions: at most 256 MB in fp32


def head_chunk(vocab_size: int) -> int:
    """Target positions per chunk of the LM head, so that a chunk's logits stay under HEAD_CHUNK_BYTES."""
    return max(16, HEAD_CHUNK_BYTES // (4 * max(vocab_size, 1)))


def cross_entropy_sum(head, hidden: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.cross_entropy(head(hidden).float(), targets, reduction="sum")


def chunked_cross_entropy(head, hidden: torch.Tensor, targets: torch.Tensor, chunk: int) -> torch.Tensor:
    """The summed cross-entropy of `head(hidden)` against `targets`, `chunk` positions at a time; each chunk's
    logits are recomputed in the backward pass (activation checkpointing), so memory holds one chunk of
    positions x vocabulary, never all of them."""
    from torch.utils.checkpoint import checkpoint

    if len(targets) <= chunk or not torch.is_grad_enabled():
        return cross_entropy_sum(head, hidden, targets)
    parts = [
        checkpoint(
            cross_entropy_sum, head, hidden[i : i + chunk], targets[i : i + chunk], use_reentrant=False
        )
        for i in range(0, len(targets), chunk)
    ]
    return torch.stack(parts).sum()


class AlignTrainer(Trainer):
    """`Trainer` whose length-grouped sampler is seeded, so order survives a resume and matches across ranks,
    and whose causal-LM loss projects only the target positions through the LM head, in chunks (one process
    or DDP, full fine-tuning or LoRA; FSDP keeps the model's own loss): the same loss as the model's own,
    without a vocabulary-sized softmax over every prompt token."""

    def __init__(
        self, *args, lengths=None, head_on_targets: bool = True, pools=None, embeddings_lr=None, **kwargs
    ):
        self.embeddings_lr = embeddings_lr  # read by create_optimizer, which the Trainer may call early
        super().__init__(*args, **kwargs)
        self.lengths = lengths  # the examples' token counts (numpy), for the length-grouped sampler
        self.head_on_targets = head_on_targets
        self.pools = pools  # --replay-share/--replay-guard: (ShareSchedule, the run's token counts, seq2seq)

    def create_optimizer(self, model=None):
        """The Trainer's optimizer; with --embeddings-lr the embedding matrices in groups of their own."""
        optimizer = super().create_optimizer(model)
        if self.embeddings_lr is not None:
            unwrapped = self.accelerator.unwrap_model(model if model is not None else self.model)
            with_embedding_lr(optimizer, unwrapped, self.embeddings_lr)
        return optimizer

    def get_batch_samples(self, epoch_iterator, num_batches, device):
        """With two pools, each slot's row is chosen here, at the start of the step, at the step's share."""
        if self.pools is None:
            return super().get_batch_samples(epoch_iterator, num_batches, device)
        schedule, counts, seq2seq = self.pools
        share = schedule.share_at(self.state.global_step + 1)
        batches = []
        for _ in range(num_batches):
            try:
                batches.append(choose(next(epoch_iterator), share, counts, seq2seq)[0])
            except StopIteration:
                break
        return batches, self._get_num_items_in_batch(batches, device)

    def causal_core(self, model):
        """The causal LM whose decoder and head the target-only loss calls — the model itself, or under peft
        LoRA the wrapped base model, its modules carrying the adapters — or None where that is not exact."""
        unwrapped = self.accelerator.unwrap_model(model)
        if hasattr(unwrapped, "peft_config"):
            adapter = unwrapped.peft_config.get(getattr(unwrapped, "active_adapter", "default"))
            if adapter is None or getattr(adapter, "is_prompt_learning", False):
                return None  # prompt tuning changes the inputs inside peft's own forward
            unwrapped = unwrapped.get_base_model()
        config = getattr(unwrapped, "config", None)
        exact = (
            self.head_on_targets
            and not self.is_fsdp_enabled  # FSDP gathers the head's shards only inside the wrapped forward
            and self.args.n_gpu <= 1  # DataParallel splits the batch inside the wrapped forward
            and (
                self.args.world_size == 1
                or "logits_to_keep" in inspect.signature(unwrapped.forward).parameters
            )
            and config is not None
            and not config.is_encoder_decoder
            and unwrapped.get_output_embeddings() is not None
            and unwrapped.base_model is not unwrapped
            and not any(
                getattr(config, k, None) for k in ("final_logit_softcapping", "logit_scale", "logits_scaling")
            )
        )
        return unwrapped if exact else None

    def target_positions_only(self, model) -> bool:
        return self.causal_core(model) is not None

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        core = None if return_outputs else self.causal_core(model)
        if core is None:
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        targets = inputs["labels"][:, 1:]
        keep = targets != -100
        head = core.get_output_embeddings()
        # in one process the prepared model's forward, and its autocast, is bypassed: autocast here
        with self.accelerator.autocast():
            hidden = self.last_hidden_state(model, core, inputs)
            chunk = head_chunk(core.config.vocab_size)
            loss = chunked_cross_entropy(head, hidden[:, :-1][keep], targets[keep], chunk)
        loss = loss / (num_items_in_batch if num_items_in_batch is not None else keep.sum().clamp(min=1))
        if self.args.average_tokens_across_devices and num_items_in_batch is not None:
            loss = loss * self.accelerator.num_processes  # as Trainer.compute_loss: DDP then averages ranks
        return loss

    def last_hidden_state(self, model, core, inputs) -> torch.Tensor:
        """The decoder's output at every position. Under DDP it is caught from the prepared model's forward
        (which sets up the gradient all-reduce), asked for the logits of one position only; in one process
        the decoder is called directly."""
        args = {"input_ids": inputs["input_ids"], "attention_mask": inputs["attention_mask"]}
        if self.args.world_size == 1:
            return core.base_model(**args).last_hidden_state
        caught = []
        hook = core.base_model.register_forward_hook(
            lambda module, _, out: caught.append(out[0] if isinstance(out, tuple) else out.last_hidden_state)
        )
        try:
            model(**args, logits_to_keep=1)
        finally:
            hook.remove()
        return caught[0]

    def _get_train_sampler(self, train_dataset=None):
        dataset = train_dataset if train_dataset is not None else self.train_dataset
        if self.pools is not None:  # the slots are already drawn in their order (guard.PairedSlots)
            return torch.utils.data.SequentialSampler(dataset)
        if (
            getattr(self.args, "train_sampling_strategy", None) != "group_by_length"
        ):  # an older transformers: none
            return super()._get_train_sampler(train_dataset)
        # group by the global batch (all processes, all accumulation steps): the same order of examples
        # whatever the split into processes and micro-batches, so such runs are equivalent
        return SeededLengthGroupedSampler(
            self.args.train_batch_size * self.args.gradient_accumulation_steps * self.args.world_size,
            self.lengths if self.lengths is not None else dataset["length"],
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
        self.close()

    def close(self) -> None:
        """Close the bar (also when training fails, so that the error is the last line printed)."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def checkpointing_flag(on: bool) -> dict:
    """Activation (gradient) checkpointing, under its transformers 5 name where it has one."""
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
        max_steps=cfg.max_steps or -1,
        save_strategy="steps",
        save_steps=cfg.save_steps,
        save_total_limit=cfg.save_total_limit,
        logging_steps=cfg.logging_steps,
        report_to=[t for t in cfg.report_to if t not in ("tensorboard", "none")],  # TensorBoard: a callback
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


def tensorboard(out: Path):
    from torch.utils.tensorboard import SummaryWriter
    from transformers.integrations import TensorBoardCallback

    return TensorBoardCallback(tb_writer=SummaryWriter(log_dir=str(out / "tensorboard")))


RESUME_FILES = ("trainer_state.json", "optimizer.pt", "scheduler.pt")
WEIGHT_FILES = (
    "model.safetensors",
    "adapter_model.safetensors",
    "pytorch_model.bin",
    "model.safetensors.index.json",
)


def checkpoint_problem(folder: Path, verify: bool = True) -> str | None:
    """Why a checkpoint cannot resume a run exactly (None when it can): its marker, and every file it lists
    with its size and, when `verify`, its sha256 (a file damaged in place keeps its size)."""
    problem = completion_problem(folder, verify)
    return problem and problem.replace("its writing was interrupted", "the save was interrupted")


class CompleteCheckpointCallback(TrainerCallback):
    """Marks a checkpoint complete once weights, optimizer, scheduler, trainer state and RNG are all there,
    recording each file's size and sha256 so that a resume can tell a damaged file from a good one."""

    def on_save(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        needed = [folder / n for n in RESUME_FILES] + [
            next((folder / w for w in WEIGHT_FILES if (folder / w).is_file()), folder / WEIGHT_FILES[0])
        ]
        if (folder / WEIGHT_FILES[-1]).is_file():  # sharded weights: every shard the index names
            index = read_json(folder / WEIGHT_FILES[-1])
            needed += [folder / f for f in sorted(set(index["weight_map"].values()))]
        needed += sorted(folder.glob("rng_state*.pth")) + sorted(folder.glob(GUARD_STATE))
        if all(p.is_file() for p in needed) and any(folder.glob("rng_state*.pth")):
            mark_complete(folder, needed)
