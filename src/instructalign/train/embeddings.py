"""Training a model extended by `vocab extend`: `--embeddings-warmup K` and `--embeddings-lr`.

For the first K steps only the new embedding rows (and an untied LM head's new rows) train: before each of
those optimizer steps every other weight's gradient is dropped (the optimizer then skips it, weight decay
included) and the old rows' gradient is zeroed; after the step the old rows are put back as they were (so
that decoupled weight decay cannot move them). After K steps everything trains. `--embeddings-lr` gives
the embedding matrix (and an untied head) a learning rate of its own, in a parameter group of its own.
The new rows start at `first_new_id` of the model folder's instructalign_vocab.json.
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import TrainerCallback

from ..errors import UserError
from ..files import read_json


def first_new_id(model_path: str) -> int:
    """Where the rows `vocab extend` added begin, read from the model folder; a one-line error elsewhere."""
    record = read_json(Path(model_path) / "instructalign_vocab.json", default=None)
    if not isinstance(record, dict) or "first_new_id" not in record:
        raise UserError(
            f"--embeddings-warmup: {model_path} holds no instructalign_vocab.json; give a model written by "
            "'instructalign vocab extend' (it names the new rows)"
        )
    return int(record["first_new_id"])


def new_rows_start(model_path: str) -> int | None:
    """Where the rows `vocab extend` added begin, or None for a model it did not write."""
    record = read_json(Path(model_path) / "instructalign_vocab.json", default=None)
    return int(record["first_new_id"]) if isinstance(record, dict) and "first_new_id" in record else None


def check_warmup_settings(cfg) -> None:
    """The warm-up's settings, checked before anything loads."""
    if cfg.embeddings_warmup and cfg.lora:
        raise UserError("--embeddings-warmup trains embedding rows, which LoRA adapters do not: drop --lora")
    if cfg.embeddings_lr is not None and cfg.lora:
        raise UserError(
            "--embeddings-lr sets the embedding matrix's rate, and under --lora that matrix does not train: "
            "drop one of them"
        )
    if cfg.embeddings_warmup and cfg.max_steps and cfg.embeddings_warmup > cfg.max_steps:
        raise UserError(
            f"--embeddings-warmup {cfg.embeddings_warmup} is longer than the run (--max-steps "
            f"{cfg.max_steps}): its last {cfg.embeddings_warmup - cfg.max_steps} steps would never come; "
            f"give at most {cfg.max_steps}"
        )
    if cfg.embeddings_warmup:
        first_new_id(cfg.model)  # a model that vocab extend did not write: refused here


def embedding_matrices(model) -> list[torch.nn.Parameter]:
    """The input embedding matrix, and the LM head's when it is a separate (untied) matrix."""
    inputs = model.get_input_embeddings().weight
    head = model.get_output_embeddings()
    tied = head is None or head.weight is inputs
    return [inputs] if tied else [inputs, head.weight]


class EmbeddingWarmup(TrainerCallback):
    """Only the new rows train for the first `steps` optimizer steps (see the module's docstring)."""

    def __init__(self, model, first: int, steps: int):
        self.matrices, self.first, self.steps = embedding_matrices(model), first, steps
        self.others = [p for p in model.parameters() if all(p is not m for m in self.matrices)]
        self.kept: list[torch.Tensor] = []

    def on_train_begin(self, args, state, control, **kwargs):
        self.kept = [m.detach()[: self.first].clone() for m in self.matrices]

    def on_pre_optimizer_step(self, args, state, control, **kwargs):
        if state.global_step >= self.steps:
            return
        for p in self.others:
            p.grad = None
        for m in self.matrices:
            if m.grad is not None:
                m.grad[: self.first] = 0

    def on_optimizer_step(self, args, state, control, **kwargs):
        if state.global_step >= self.steps:
            return
        with torch.no_grad():
            for m, kept in zip(self.matrices, self.kept):
                m[: self.first] = kept


def with_embedding_lr(optimizer, model, lr: float):
    """Move the embedding matrices into parameter groups of their own at `lr` (each keeps its group's other
    settings, weight decay included)."""
    targets = {id(m) for m in embedding_matrices(model)}
    moved = []
    for group in optimizer.param_groups:
        moved += [(p, group) for p in group["params"] if id(p) in targets]
        group["params"] = [p for p in group["params"] if id(p) not in targets]
    for p, group in moved:
        optimizer.add_param_group(
            {k: v for k, v in group.items() if k != "params"} | {"params": [p], "lr": lr}
        )
    return optimizer
