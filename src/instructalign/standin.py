"""The demo's stand-in for BLOOMZ, built offline: a byte-level BPE tokenizer and a small GPT-2-style decoder.

Shared by the demo, the studies and the benchmarks, so that all of them measure the same model.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from .config import Recipe
from .tokenizer import train_bpe_tokenizer


def standin_tokenizer(texts: Iterable[str], recipe: Recipe):
    """A byte-level BPE tokenizer of `recipe.vocab_size` tokens trained on `texts`."""
    return train_bpe_tokenizer(texts, vocab_size=recipe.vocab_size, model_max_length=recipe.n_positions)


def init_model(tokenizer, recipe: Recipe, seed: int, folder: Path) -> None:
    """A freshly initialised decoder of the recipe's shape, saved with its tokenizer in `folder`."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=recipe.n_positions,
        n_embd=recipe.d_model,
        n_layer=recipe.n_layer,
        n_head=recipe.n_head,
        activation_function=recipe.activation,
        resid_pdrop=recipe.dropout,
        embd_pdrop=recipe.dropout,
        attn_pdrop=recipe.dropout,
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    GPT2LMHeadModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
