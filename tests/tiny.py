"""Tiny models and a tokenizer built from a config and a fixture: no downloads."""

from functools import lru_cache

import torch

from instructalign.tokenizer import train_bpe_tokenizer

CORPUS = [
    "Hotel itu sangat bersih dan nyaman.",
    "Hotel iku resik banget lan kepenak.",
    "The hotel is very clean and comfortable.",
    "Pelayanannya lambat sekali hari ini.",
    "The service is very slow today.",
    "What would be the sentiment of the text above? positive, neutral, or negative?",
    "Apakah sentimen dari teks di atas? positif, netral, atau negatif?",
    "Translate the following text from Indonesian to Javanese.",
    "positive negative neutral positif negatif netral Yes No Ya Tidak",
] * 3


@lru_cache(maxsize=1)
def tokenizer():
    return train_bpe_tokenizer(CORPUS, vocab_size=300)


def bloom(seed=0):
    from transformers import BloomConfig, BloomForCausalLM

    tok = tokenizer()
    torch.manual_seed(seed)
    cfg = BloomConfig(
        n_layer=2,
        hidden_size=32,
        n_head=2,
        vocab_size=len(tok),
        pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id,
        bos_token_id=tok.eos_token_id,
    )
    return BloomForCausalLM(cfg).eval()


def gpt2(seed=0):
    from transformers import GPT2Config, GPT2LMHeadModel

    tok = tokenizer()
    torch.manual_seed(seed)
    cfg = GPT2Config(
        n_layer=2,
        n_embd=32,
        n_head=2,
        n_positions=256,
        vocab_size=len(tok),
        pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id,
        bos_token_id=tok.eos_token_id,
    )
    return GPT2LMHeadModel(cfg).eval()


def t5(seed=0):
    from transformers import T5Config, T5ForConditionalGeneration

    tok = tokenizer()
    torch.manual_seed(seed)
    cfg = T5Config(
        num_layers=2,
        num_decoder_layers=2,
        d_model=32,
        d_ff=64,
        num_heads=2,
        d_kv=16,
        vocab_size=len(tok),
        pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id,
        decoder_start_token_id=tok.pad_token_id,
    )
    return T5ForConditionalGeneration(cfg).eval()


def save(model, path):
    model.save_pretrained(path)
    tokenizer().save_pretrained(path)
    return str(path)
