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


def gpt2(seed=0, dropout=0.1, positions=256):
    from transformers import GPT2Config, GPT2LMHeadModel

    tok = tokenizer()
    torch.manual_seed(seed)
    cfg = GPT2Config(
        resid_pdrop=dropout,
        embd_pdrop=dropout,
        attn_pdrop=dropout,
        n_layer=2,
        n_embd=32,
        n_head=2,
        n_positions=positions,
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


def _ids(tok) -> dict:
    return {
        "vocab_size": len(tok),
        "pad_token_id": tok.pad_token_id,
        "eos_token_id": tok.eos_token_id,
        "bos_token_id": tok.eos_token_id,
    }


def llama(seed=0):
    """Rotary positions, untied LM head, grouped-query attention."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    cfg = LlamaConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        tie_word_embeddings=False,
        **_ids(tokenizer()),
    )
    return LlamaForCausalLM(cfg).eval()


def qwen2(seed=0):
    """Rotary positions, tied embeddings, bias on q/k/v."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(seed)
    cfg = Qwen2Config(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        tie_word_embeddings=True,
        **_ids(tokenizer()),
    )
    return Qwen2ForCausalLM(cfg).eval()


def gemma2(seed=0):
    """Sliding-window layers (window 8, shorter than the prompts), logit soft-capping, scaled embeddings."""
    from transformers import Gemma2Config, Gemma2ForCausalLM

    torch.manual_seed(seed)
    cfg = Gemma2Config(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=8,
        max_position_embeddings=256,
        sliding_window=8,
        **_ids(tokenizer()),
    )
    return Gemma2ForCausalLM(cfg).eval()


def mt5(seed=0):
    from transformers import MT5Config, MT5ForConditionalGeneration

    tok = tokenizer()
    torch.manual_seed(seed)
    cfg = MT5Config(
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
    return MT5ForConditionalGeneration(cfg).eval()


CAUSAL = {"bloom": bloom, "gpt2": gpt2, "llama": llama, "qwen2": qwen2, "gemma2": gemma2}
SEQ2SEQ = {"t5": t5, "mt5": mt5}
