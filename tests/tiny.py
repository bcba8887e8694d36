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


# Chat templates as the model families write them (trimmed of tool calling): ChatML with a default system
# prompt (Qwen2.5), Llama 3 headers, Gemma (no system role, the assistant is "model") and Mistral's [INST].
TEMPLATES = {
    "chatml": (
        "{%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\\n' + messages[0]['content'] + "
        "'<|im_end|>\\n' }}{%- else %}{{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}"
        "{%- endif %}{%- for message in messages %}{%- if not (message['role'] == 'system' and loop.first) "
        "%}{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{%- "
        "endif %}{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
    ),
    "llama3": (
        "{{- bos_token }}{%- for message in messages %}{{- '<|start_header_id|>' + message['role'] + "
        "'<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}{%- endfor %}{%- if "
        "add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}"
    ),
    "gemma": (
        "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not "
        "supported') }}{% endif %}{% for message in messages %}{% if message['role'] == 'assistant' %}{% "
        "set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}{{ '<start_of_turn>' + "
        "role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}{% endfor %}{% if "
        "add_generation_prompt %}{{ '<start_of_turn>model\\n' }}{% endif %}"
    ),
    "mistral": (
        "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' + "
        "message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ message['content'] + "
        "eos_token }}{% endif %}{% endfor %}"
    ),
}
END_OF_TURN = {"chatml": "<|im_end|>", "llama3": "<|eot_id|>", "gemma": "<end_of_turn>", "mistral": "</s>"}
BOS = {"llama3": "<|begin_of_text|>", "gemma": "<bos>", "mistral": "<s>"}
CHAT_TOKENS = [
    "<|im_start|>",
    "<|im_end|>",
    "<|begin_of_text|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eot_id|>",
    "<bos>",
    "<start_of_turn>",
    "<end_of_turn>",
    "<s>",
    "</s>",
]


def chat_model(kind: str, path, seed: int = 0, positions: int = 512) -> str:
    """A tiny Qwen2-shaped chat model saved with a template of `kind` (its special tokens added to the
    tokenizer, the embeddings grown to them); "none": the same model with no template."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    tok = train_bpe_tokenizer(CORPUS, vocab_size=300)
    tok.add_special_tokens({"additional_special_tokens": CHAT_TOKENS})
    if kind in BOS:
        tok.bos_token = BOS[kind]
    if kind == "mistral":
        tok.eos_token = "</s>"
    if kind != "none":
        tok.chat_template = TEMPLATES[kind]
    torch.manual_seed(seed)
    cfg = Qwen2Config(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=positions,
        tie_word_embeddings=True,
        vocab_size=len(tok),
        pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id,
        bos_token_id=tok.bos_token_id or tok.eos_token_id,
    )
    Qwen2ForCausalLM(cfg).eval().save_pretrained(path)
    tok.save_pretrained(path)
    return str(path)


CONVERSATIONS = [
    ("Apa ibu kota Indonesia?", "Jakarta."),
    ("Say hello.", "Hello!"),
    ("Translate to English: Selamat pagi.", "Good morning."),
    ("Sebutkan warna langit.", "Biru."),
    ("Is the hotel clean? Yes or No?", "Yes"),
    ("Translate to English: Terima kasih.", "Thank you."),
    ("Apa ibu kota Jawa Barat?", "Bandung."),
    ("Count to three.", "One, two, three."),
    ("Translate to Indonesian: Good night.", "Selamat malam."),
    ("Name a fruit.", "Mango."),
]


def taught(path, steps: int = 120, lr: float = 1e-2, seed: int = 0) -> str:
    """The model saved at `path` (`chat_model`) after learning CONVERSATIONS whole (the user turns too, so
    that it can write prompts), in its chat template or, without one, as prompt, space, answer, eos: a model
    that answers in its format rather than a random one."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path)
    if tok.chat_template:
        turns = [
            [{"role": "user", "content": q}, {"role": "assistant", "content": a}] for q, a in CONVERSATIONS
        ]
        seqs = [tok.apply_chat_template(t)["input_ids"] for t in turns]
    else:
        seqs = [tok(f"{q} {a}")["input_ids"] + [tok.eos_token_id] for q, a in CONVERSATIONS]
    width = max(map(len, seqs))
    ids = torch.tensor([s + [tok.pad_token_id] * (width - len(s)) for s in seqs])
    labels = torch.tensor([s + [-100] * (width - len(s)) for s in seqs])
    torch.manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    model.train()
    for _ in range(steps):
        model(input_ids=ids, labels=labels).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.eval().save_pretrained(path)
    return str(path)
