"""Load a model and its tokenizer through `transformers` Auto classes, from a hub id or a local folder.

Decoder-only (BLOOMZ, any causal LM) or encoder-decoder (mT0/T5) is read from the model's config, never
guessed from its name.
"""

from __future__ import annotations

import inspect
import pickle
from pathlib import Path

from .errors import UserError

NO_REMOTE_CODE = {
    "trust_remote_code": False
}  # a model folder's own Python is never run, and never asked about


def custom_code_error(name_or_path: str, exc: BaseException) -> UserError | None:
    """The one line for a model that needs Python code of its own (`trust_remote_code`), or None."""
    if "trust_remote_code" not in str(exc) and "custom code" not in str(exc):
        return None
    return UserError(
        f"{name_or_path}: needs Python code of its own to load (trust_remote_code), which instructalign "
        "never runs; use a model that transformers supports natively"
    )


def load_model_config(name_or_path: str):
    from transformers import AutoConfig

    looks_local = name_or_path.startswith((".", "/", "~")) or Path(name_or_path).exists()
    if looks_local and not (Path(name_or_path).expanduser() / "config.json").is_file():
        raise UserError(f"{name_or_path}: no model here (no config.json); give a model folder or a hub id")
    try:
        return AutoConfig.from_pretrained(name_or_path, **NO_REMOTE_CODE)
    except (OSError, ValueError) as exc:
        if error := custom_code_error(name_or_path, exc):
            raise error from None
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(
            f"{name_or_path}: model not found locally or on the hub ({first[:160]}); check --model"
        ) from None


def is_encoder_decoder(config) -> bool:
    return bool(getattr(config, "is_encoder_decoder", False))


def load_tokenizer(name_or_path: str):
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(name_or_path, **NO_REMOTE_CODE)
    except (OSError, ValueError) as exc:
        if error := custom_code_error(name_or_path, exc):
            raise error from None
        raise UserError(
            f"{name_or_path}: no tokenizer could be loaded ({str(exc).splitlines()[0][:160]})"
        ) from None
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


def check_loading(name_or_path: str, info: dict, allow_partial: bool) -> list[str]:
    """Missing, unexpected or mismatched weights are an error unless `allow_partial`; returns what was off."""
    problems = [
        f"{kind.replace('_keys', '')}: "
        f"{', '.join(sorted(map(str, keys))[:3])}{' ...' if len(keys) > 3 else ''}"
        for kind, keys in info.items()
        if kind in ("missing_keys", "unexpected_keys", "mismatched_keys") and keys
    ]
    if problems and not allow_partial:
        raise UserError(
            f"{name_or_path}: the checkpoint does not match the model ({'; '.join(problems)}); re-save or "
            "re-download it, or pass --allow-partial to evaluate with those weights initialised at random"
        )
    return problems


def load_model(name_or_path: str, dtype=None, allow_partial: bool = False):
    """The model in eval mode (callers switch to train mode), its tokenizer, and whether it is seq2seq.

    A folder holding a LoRA adapter (adapter_config.json) is loaded on top of its base model. Weights the
    checkpoint lacks (or has in another shape) are an error unless `allow_partial`; then the model carries
    `instructalign_partial` with what was off, for results.json.
    """
    from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM

    adapter = Path(name_or_path) / "adapter_config.json"
    if adapter.is_file():
        return load_adapter(Path(name_or_path), dtype, allow_partial)
    config = load_model_config(name_or_path)
    seq2seq = is_encoder_decoder(config)
    auto = AutoModelForSeq2SeqLM if seq2seq else AutoModelForCausalLM
    kwargs = ({"dtype": dtype} if dtype is not None else {}) | NO_REMOTE_CODE
    try:
        model, info = auto.from_pretrained(name_or_path, output_loading_info=True, **kwargs)
    except (OSError, ValueError, RuntimeError, pickle.UnpicklingError) as exc:
        if error := custom_code_error(name_or_path, exc):
            raise error from None
        if isinstance(exc, pickle.UnpicklingError) or "weights_only" in str(exc):
            raise UserError(
                f"{name_or_path}: a pickled weights file (pytorch_model.bin) that torch refuses to load "
                "safely, as "
                "it could run code; convert it to safetensors with a tool you trust, or use another copy"
            ) from None
        raise UserError(f"{name_or_path}: the weights could not be loaded ({first_line(exc)})") from None
    except Exception as exc:  # safetensors raises its own error type for a truncated file
        if type(exc).__name__ != "SafetensorError":
            raise
        raise UserError(
            f"{name_or_path}: the weights file is damaged ({first_line(exc)}); re-save it"
        ) from None
    model.instructalign_partial = check_loading(name_or_path, info, allow_partial)
    return model.eval(), load_tokenizer(name_or_path), seq2seq


def load_adapter(folder: Path, dtype, allow_partial: bool):
    """A LoRA adapter folder on top of the base model it names."""
    import json

    from peft import PeftModel

    try:
        base = json.loads((folder / "adapter_config.json").read_text("utf-8"))["base_model_name_or_path"]
    except (json.JSONDecodeError, KeyError, UnicodeDecodeError):
        raise UserError(
            f"{folder}/adapter_config.json: not a readable adapter config; re-save the adapter"
        ) from None
    if not base:
        raise UserError(
            f"{folder}/adapter_config.json: names no base model (base_model_name_or_path); set it"
        )
    model, _, seq2seq = load_model(base, dtype, allow_partial)
    partial = model.instructalign_partial
    try:
        model = PeftModel.from_pretrained(model, str(folder))
    except Exception as exc:  # peft and safetensors raise many kinds for a damaged adapter
        raise UserError(
            f"{folder}: the adapter could not be loaded ({first_line(exc)}); re-save it"
        ) from None
    model.instructalign_partial = partial
    return model.eval(), load_tokenizer(str(folder)), seq2seq


def accepts(model, name: str) -> bool:
    """Whether the model's forward takes a keyword (position_ids, logits_to_keep, cache, ...).

    A peft wrapper's forward takes **kwargs and passes them on: ask the model it wraps.
    """
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    return name in inspect.signature(inner.forward).parameters


def cache_kwarg(model) -> str:
    """The forward keyword for the key/value cache: `cache` in transformers 5, `past_key_values` before."""
    return "cache" if accepts(model, "cache") else "past_key_values"
