"""The model card of a train output's final/: hub metadata over what was trained, on what, and how."""

from __future__ import annotations

from pathlib import Path

from ..config import TrainConfig
from ..export.card import card_text
from ..files import read_json


def model_card(cfg: TrainConfig, kind: str, seq2seq: bool) -> str:
    adapter = cfg.lora and not cfg.merge_lora
    body = card_body(cfg, kind, seq2seq)
    return card_text(
        body,
        base=cfg.model,
        base_id=cfg.base_model_id,
        relation="adapter" if adapter else "finetune",
        adapter=adapter,
        seq2seq=seq2seq,
        data=cfg.data,
    )


def card_body(cfg: TrainConfig, kind: str, seq2seq: bool) -> str:
    manifest_path = Path(cfg.data) / "manifest.json"
    counts = read_json(manifest_path)["counts"] if manifest_path.is_file() else {}
    data = f"{counts.get('total', '?')} examples; by source {counts.get('by_source', {})}; "
    data += f"by objective {counts.get('by_objective', {})}"
    loss = "prompt and target tokens" if cfg.loss_on_prompt else "target tokens only (prompt tokens masked)"
    length = "max steps " + str(cfg.max_steps) if cfg.max_steps else str(cfg.epochs) + " epoch(s)"
    return f"""# {Path(cfg.output).name}

Continual crosslingual instruction tuning (InstructAlign) of `{cfg.model}` with instructalign.

- Weights: {kind}.
- Architecture: {"encoder-decoder" if seq2seq else "decoder-only"}.
- Data: `{cfg.data}` — {data}.
- Loss: {loss}, EOS after the target.
- Optimisation: lr {cfg.lr} ({cfg.lr_scheduler}), batch {cfg.batch_size} x {cfg.grad_accum}, max length
  {cfg.max_length}, {length}, seed {cfg.seed}.

The full resolved config is in `instructalign_train_config.json`.
"""
