"""Load a model and its tokenizer through `transformers` Auto classes, from a hub id or a local folder.

Decoder-only (BLOOMZ, any causal LM) or encoder-decoder (mT0/T5) is read from the model's config, never
guessed from its name.
"""

from __future__ import annotations

import inspect
from pathlib import Path

from .errors import UserError


def load_model_config(name_or_path: str):
    from transformers import AutoConfig

    looks_local = name_or_path.startswith((".", "/", "~")) or Path(name_or_path).exists()
    if looks_local and not (Path(name_or_path).expanduser() / "config.json").is_file():
        raise UserError(f"{name_or_path}: no model here (no config.json); give a model folder or a hub id")
    try:
        return AutoConfig.from_pretrained(name_or_path)
    except (OSError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(
            f"{name_or_path}: model not found locally or on the hub ({first[:160]}); check --model"
        ) from None


def is_encoder_decoder(config) -> bool:
    return bool(getattr(config, "is_encoder_decoder", False))


def load_tokenizer(name_or_path: str):
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(name_or_path)
    except (OSError, ValueError) as exc:
        raise UserError(
            f"{name_or_path}: no tokenizer could be loaded ({str(exc).splitlines()[0][:160]})"
        ) from None
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(name_or_path: str, dtype=None):
    """The model in eval mode (callers switch to train mode), its tokenizer, and whether it is seq2seq.

    A folder holding a LoRA adapter (adapter_config.json) is loaded on top of its base model.
    """
    from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM

    adapter = Path(name_or_path) / "adapter_config.json"
    if adapter.is_file():
        import json

        from peft import PeftModel

        base = json.loads(adapter.read_text("utf-8"))["base_model_name_or_path"]
        model, _, seq2seq = load_model(base, dtype)
        return PeftModel.from_pretrained(model, name_or_path).eval(), load_tokenizer(name_or_path), seq2seq
    config = load_model_config(name_or_path)
    seq2seq = is_encoder_decoder(config)
    auto = AutoModelForSeq2SeqLM if seq2seq else AutoModelForCausalLM
    kwargs = {"dtype": dtype} if dtype is not None else {}
    model = auto.from_pretrained(name_or_path, **kwargs)
    return model.eval(), load_tokenizer(name_or_path), seq2seq


def accepts(model, name: str) -> bool:
    """Whether the model's forward takes a keyword (position_ids, logits_to_keep, cache, ...)."""
    return name in inspect.signature(model.forward).parameters


def cache_kwarg(model) -> str:
    """The forward keyword for the key/value cache: `cache` in transformers 5, `past_key_values` before."""
    return "cache" if accepts(model, "cache") else "past_key_values"
