"""`instructalign merge`: a LoRA adapter merged into its base as trained (the default, as peft's
`merge_and_unload`), or a tuned model moved back toward its base with --alpha: θ = (1 − α)·θ_base + α·θ_tuned.

A cheap lever against forgetting, chosen after training (WiSE-FT, Wortsman et al. 2022): α = 1 is the tuned
model, α = 0 the base. Full fine-tunes are merged tensor by tensor, streamed with `safetensors.safe_open`,
one shard of the tuned model at a time, so memory stays near one shard plus one base tensor. A LoRA
adapter is scaled by α (its B matrices) and merged into the base with peft's `merge_and_unload`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from .config import MergeConfig
from .errors import UserError
from .export.card import card_text
from .files import read_json, write_atomically
from .models import load_model, load_tokenizer
from .options import validate
from .outputs import check_output, mark_owner, owned_output, replaced_folder

WEIGHTS_INDEX = "model.safetensors.index.json"


def model_folder(name_or_path: str) -> Path:
    """A local folder for a model: the path itself, or the hub snapshot of an id."""
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return path
    try:
        from huggingface_hub import snapshot_download

        return Path(
            snapshot_download(name_or_path, allow_patterns=["*.json", "*.safetensors", "*.model", "*.txt"])
        )
    except Exception as exc:  # offline, unknown id, no permission
        raise UserError(
            f"{name_or_path}: not a local folder, and the hub has no such model ({str(exc)[:120]})"
        ) from None


def shards(folder: Path) -> dict[str, list[str]]:
    """safetensors file -> the tensor names it holds."""
    from safetensors import safe_open

    index = folder / WEIGHTS_INDEX
    if index.is_file():
        weight_map = read_json(index)["weight_map"]
        files: dict[str, list[str]] = {}
        for name, file in weight_map.items():
            files.setdefault(file, []).append(name)
        return files
    single = folder / "model.safetensors"
    if not single.is_file():
        raise UserError(
            f"{folder}: no model.safetensors (or {WEIGHTS_INDEX}); merge reads safetensors weights"
        )
    with safe_open(str(single), "pt") as f:
        return {"model.safetensors": list(f.keys())}


def check_same_architecture(base: Path, tuned: Path, base_shards: dict, tuned_shards: dict) -> None:
    configs = [read_json(p / "config.json") for p in (base, tuned)]
    if configs[0].get("model_type") != configs[1].get("model_type"):
        raise UserError(
            f"{tuned}: a {configs[1].get('model_type')} model cannot be merged with the "
            f"{configs[0].get('model_type')} base {base}"
        )
    names = [{n for ns in s.values() for n in ns} for s in (base_shards, tuned_shards)]
    if names[0] != names[1]:
        odd = sorted(names[0] ^ names[1])[:3]
        raise UserError(
            f"{tuned}: its weights differ from the base's ({', '.join(odd)} ...); merge needs the same "
            "architecture"
        )


def interpolate_full(base: Path, tuned: Path, alpha: float, out: Path) -> None:
    """θ = (1 − α)·θ_base + α·θ_tuned for every tensor, one tuned shard in memory at a time."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    base_shards, tuned_shards = shards(base), shards(tuned)
    check_same_architecture(base, tuned, base_shards, tuned_shards)
    where = {name: file for file, names in base_shards.items() for name in names}
    for file, names in tuned_shards.items():
        merged = {}
        with safe_open(str(tuned / file), "pt") as t:
            for name in names:
                with safe_open(str(base / where[name]), "pt") as b:
                    theta_b, theta_t = b.get_tensor(name), t.get_tensor(name)
                if theta_b.shape != theta_t.shape:
                    raise UserError(
                        f"{tuned}: {name} has shape {tuple(theta_t.shape)}, the base {tuple(theta_b.shape)}"
                    )
                mixed = theta_b.float().mul(1 - alpha).add(theta_t.float(), alpha=alpha)
                merged[name] = mixed.to(theta_t.dtype) if theta_t.is_floating_point() else theta_t
        save_file(merged, str(out / file), metadata={"format": "pt"})
    for extra in tuned.iterdir():
        if extra.is_file() and not extra.name.endswith(".safetensors") and extra.name != "README.md":
            shutil.copy2(extra, out / extra.name)


def merge_adapter(tuned: Path, base_name: str, alpha: float, out: Path) -> None:
    """The adapter's update scaled by α (its lora_B), merged into the base weights."""
    import torch
    from peft import PeftModel

    model, _, _ = load_model(base_name)
    try:
        peft_model = PeftModel.from_pretrained(model, str(tuned))
    except Exception as exc:
        raise UserError(f"{tuned}: the adapter could not be loaded ({str(exc)[:160]})") from None
    with torch.no_grad():
        for name, param in peft_model.named_parameters():
            if "lora_B" in name or "lora_embedding_B" in name:
                param.mul_(alpha)
    peft_model.merge_and_unload().save_pretrained(str(out))
    load_tokenizer(str(tuned)).save_pretrained(str(out))


def model_card(cfg: MergeConfig, base: str, kind: str, adapter: bool, alpha: float) -> str:
    """The card: hub metadata (a merge of the base and the tuned model; the tuned model's languages and data)
    over the prose."""
    tuned = Path(cfg.tuned)
    trained = tuned / "instructalign_train_config.json"
    data = read_json(trained).get("data") if trained.is_file() else None
    config = read_json(tuned / "config.json", default={})
    return card_text(
        model_card_body(cfg, base, kind, alpha),
        base=base,
        relation="merge",
        adapter=False,
        seq2seq=bool(config.get("is_encoder_decoder")),
        data=data,
        extra_bases=() if adapter else (cfg.tuned,),
        base_id=cfg.base_model_id,
    )


def model_card_body(cfg: MergeConfig, base: str, kind: str, alpha: float) -> str:
    title = "Merged model" if alpha == 1 else "Interpolated model"
    return f"""# {title} (instructalign merge)

θ = (1 − α)·θ_base + α·θ_tuned with **α = {alpha}** ({kind}).

- Base (α = 0): `{base}`
- Tuned (α = 1): `{cfg.tuned}`

α moves the tuned model back toward its base: less forgetting of what the base knew, less of what tuning
added. Evaluate it like any model: `instructalign eval --model {cfg.output}`.
"""


def merge(cfg: MergeConfig) -> Path:
    validate(cfg)
    if not cfg.tuned or not cfg.output:
        raise UserError("merge needs --tuned (a train output's final/ folder) and --output")
    alpha = 1.0 if cfg.alpha is None else cfg.alpha
    if not 0 <= alpha <= 1:
        raise UserError(f"--alpha {alpha}: must be in [0, 1] (0 = the base, 1 = the tuned model)")
    tuned = Path(cfg.tuned)
    if not (tuned / "config.json").is_file() and not (tuned / "adapter_config.json").is_file():
        raise UserError(
            f"{tuned}: no model here (no config.json or adapter_config.json); give a train output's final/"
        )
    out = Path(cfg.output)
    adapter = tuned / "adapter_config.json"
    base_name = cfg.base or (read_json(adapter).get("base_model_name_or_path") if adapter.is_file() else None)
    if not base_name:
        raise UserError("no --base given; name the model the tuned one started from (a folder or a hub id)")
    check_output(out, [("--tuned", cfg.tuned), ("--base", base_name)], replaces=True)
    settings = {"base": base_name, "tuned": str(tuned.resolve()), "alpha": alpha}
    with owned_output(out, "merge", settings, cfg.overwrite), replaced_folder(out) as tmp:
        if adapter.is_file():
            merge_adapter(tuned, base_name, alpha, tmp)
            kind = "a LoRA adapter scaled by α and merged into the base"
        else:
            interpolate_full(model_folder(base_name), tuned, alpha, tmp)
            kind = "full fine-tune, every tensor interpolated"
        write_atomically(tmp / "README.md", model_card(cfg, base_name, kind, adapter.is_file(), alpha))
        write_atomically(
            tmp / "instructalign_merge.json",
            json.dumps({"base": base_name, "tuned": str(tuned), "alpha": alpha, "kind": kind}, indent=2)
            + "\n",
        )
        mark_owner(tmp, "merge", settings)
    done = (
        "merged as trained (α = 1)" if cfg.alpha is None else f"interpolated toward the base, α = {alpha:g}"
    )
    print(f"{done}: {out}")
    return out
