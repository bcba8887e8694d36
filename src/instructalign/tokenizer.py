"""Train a small byte-level BPE tokenizer offline (for the demo's stand-in model and for tests)."""

from __future__ import annotations

from collections.abc import Iterable


def train_bpe_tokenizer(texts: Iterable[str], vocab_size: int = 4000, model_max_length: int = 1024):
    """A `PreTrainedTokenizerFast` with byte-level BPE trained on `texts`; <pad>, <eos>, <mask> specials."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<pad>", "<eos>", "<mask>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="<pad>",
        eos_token="<eos>",
        mask_token="<mask>",
        model_max_length=model_max_length,
    )
