"""The architectures users bring, each built tiny from a config: scores equal a plain forward and do not
depend on batch size or left padding, with and without a LoRA adapter loaded the way `eval` loads it; the
training loss shortcut equals the model's own loss."""

import pytest
import torch

import tiny
from instructalign.evaluate.scoring import score_choices
from instructalign.models import load_model

PROMPTS = [
    "Hotel itu sangat bersih dan nyaman.\nWhat would be the sentiment of the text above? positive, neutral, "
    "or negative?",
    "The service is very slow today.\nWhat would be the sentiment?",
    "Apakah sentimen?",
]
CHOICES = [
    [" positive", " neutral", " negative"],
    [" positif", " netral", " negatif"],
    [" Yes", " No", " Ya tidak"],
]
ARCHS = {**{k: (v, False) for k, v in tiny.CAUSAL.items()}, **{k: (v, True) for k, v in tiny.SEQ2SEQ.items()}}


def reference(model, tok, prompt, choice, seq2seq):
    """log p(choice | prompt) from one plain forward of the unpadded sequence."""
    p = tok(prompt)["input_ids"]
    c = tok(choice, add_special_tokens=False)["input_ids"]
    if seq2seq:
        start = model.config.decoder_start_token_id
        logits = model(
            input_ids=torch.tensor([p]), decoder_input_ids=torch.tensor([[start] + c[:-1]])
        ).logits[0]
        offset = 0
    else:
        logits = model(input_ids=torch.tensor([p + c])).logits[0]
        offset = len(p) - 1
    lp = torch.log_softmax(logits.float(), -1)
    return sum(lp[offset + j, t].item() for j, t in enumerate(c))


@pytest.fixture(scope="module", params=sorted(ARCHS))
def arch(request, tmp_path_factory):
    """(name, seq2seq, {'plain': model, 'lora': the same base with a random adapter, loaded as eval does})."""
    from peft import LoraConfig, TaskType, get_peft_model

    make, seq2seq = ARCHS[request.param]
    folder = tmp_path_factory.mktemp(request.param)
    base = tiny.save(make(), folder / "base")
    plain, _, detected = load_model(base)
    assert detected == seq2seq
    torch.manual_seed(1)
    lora = LoraConfig(
        r=4,
        lora_alpha=8,
        init_lora_weights=False,
        target_modules="all-linear",
        task_type=TaskType.SEQ_2_SEQ_LM if seq2seq else TaskType.CAUSAL_LM,
    )
    peft_model = get_peft_model(load_model(base)[0], lora)  # records the base folder, as training does
    peft_model.save_pretrained(folder / "adapter")
    tiny.tokenizer().save_pretrained(folder / "adapter")
    adapted, _, _ = load_model(str(folder / "adapter"))
    assert type(adapted).__name__.startswith("Peft")
    return request.param, seq2seq, {"plain": plain, "lora": adapted}


@pytest.mark.parametrize("variant", ["plain", "lora"])
def test_scores_equal_a_plain_forward(arch, variant):
    name, seq2seq, models = arch
    model, tok = models[variant], tiny.tokenizer()
    with torch.no_grad():
        got = score_choices(model, tok, PROMPTS, CHOICES, seq2seq)
        for i, prompt in enumerate(PROMPTS):
            for j, choice in enumerate(CHOICES[i]):
                assert got[i].logprob[j] == pytest.approx(
                    reference(model, tok, prompt, choice, seq2seq), abs=1e-4
                ), (
                    name,
                    variant,
                    i,
                    j,
                )


@pytest.mark.parametrize("variant", ["plain", "lora"])
def test_scores_do_not_depend_on_batch_or_padding(arch, variant):
    name, seq2seq, models = arch
    model, tok = models[variant], tiny.tokenizer()
    with torch.no_grad():
        together = score_choices(model, tok, PROMPTS, CHOICES, seq2seq)
        alone = [score_choices(model, tok, [p], [c], seq2seq)[0] for p, c in zip(PROMPTS, CHOICES)]
        # the short prompt padded beside a long one, in the other order
        reversed_ = score_choices(model, tok, PROMPTS[::-1], CHOICES[::-1], seq2seq)[::-1]
    for a, b, c in zip(together, alone, reversed_):
        assert a.logprob == pytest.approx(b.logprob, abs=1e-4), name
        assert c.logprob == pytest.approx(b.logprob, abs=1e-4), name


PACKS = {"gpt2": True, "llama": True, "qwen2": True, "bloom": False, "gemma2": False}  # ALiBi, sliding window


@pytest.mark.parametrize("name", sorted(tiny.CAUSAL))
def test_choices_packed_behind_the_prompt_score_as_a_plain_forward(name, tmp_path):
    """One choice set for the whole batch: packed scoring where the model allows it (checked against the
    cache path on first use), the cache path where it does not; the scores are a plain forward's either way.
    """
    model, tok, _ = load_model(tiny.save(tiny.CAUSAL[name](), tmp_path / name))
    with torch.no_grad():
        got = score_choices(model, tok, PROMPTS, [CHOICES[2]] * len(PROMPTS), False)
        for i, prompt in enumerate(PROMPTS):
            for j, choice in enumerate(CHOICES[2]):
                assert got[i].logprob[j] == pytest.approx(
                    reference(model, tok, prompt, choice, False), abs=1e-4
                )
    assert model.instructalign_packing is PACKS[name]


def raises_key_error(*args):
    raise KeyError("attention mask")  # as a model whose attention does not know a 4D mask might


@pytest.mark.parametrize(
    "packed",
    [lambda m, p, c, pad: torch.zeros(len(p), len(c), 4), raises_key_error],
    ids=["disagrees", "raises"],
)
def test_a_model_packing_does_not_reproduce_keeps_the_cache_path(packed, tmp_path, monkeypatch):
    import instructalign.evaluate.scoring as scoring

    model, tok, _ = load_model(tiny.save(tiny.gpt2(), tmp_path / "gpt2"))
    monkeypatch.setattr(scoring, "packed_token_logprobs", packed)
    got = score_choices(model, tok, PROMPTS[:1], [CHOICES[0]], False)
    assert model.instructalign_packing is False
    assert got[0].logprob[0] == pytest.approx(
        reference(model, tok, PROMPTS[0], CHOICES[0][0], False), abs=1e-4
    )


@pytest.mark.parametrize("name", sorted(tiny.CAUSAL))
def test_training_loss_shortcut_equals_the_models_own_loss(name):
    from transformers import TrainingArguments

    from instructalign.train.trainer import AlignTrainer

    model = tiny.CAUSAL[name]().eval()
    trainer = AlignTrainer(
        model=model, args=TrainingArguments(output_dir="/tmp/ia-arch", report_to=[], use_cpu=True)
    )
    batch = loss_batch()
    ours = trainer.compute_loss(model, dict(batch))
    assert ours.item() == pytest.approx(model(**batch).loss.item(), rel=1e-5), name
    if name == "gemma2":
        assert not trainer.target_positions_only(model)  # soft-capped logits: the model's own loss is used


@pytest.mark.parametrize("name", ["gpt2", "llama"])
def test_loss_shortcut_under_bf16_autocast(name):
    """--precision bf16 (what auto picks on a GPU with bf16): the shortcut runs inside the accelerator's
    autocast and stays close to the model's own loss under the same autocast (checked here on CPU)."""
    from transformers import TrainingArguments

    from instructalign.train.trainer import AlignTrainer

    model = tiny.CAUSAL[name]().eval()
    ids = torch.randint(3, 200, (2, 12))
    labels = ids.clone()
    labels[:, :6] = -100
    batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": labels}
    args = TrainingArguments(output_dir="/tmp/ia-bf16", report_to=[], use_cpu=True, bf16=True)
    trainer = AlignTrainer(model=model, args=args)
    assert trainer.target_positions_only(model)
    ours = trainer.compute_loss(model, dict(batch))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        reference = model(**batch).loss
    assert ours.dtype == torch.float32
    assert ours.item() == pytest.approx(reference.float().item(), rel=2e-2)


def loss_batch():
    torch.manual_seed(0)
    ids = torch.randint(3, 200, (3, 12))
    mask = torch.ones_like(ids)
    mask[2, 9:] = 0
    labels = ids.clone()
    labels[:, :7] = -100
    labels[2, 9:] = -100
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


@pytest.mark.parametrize("name", sorted(set(tiny.CAUSAL) - {"gemma2"}))
@pytest.mark.parametrize("targets", ["all-linear", "with lm_head"])
def test_under_lora_the_target_only_head_equals_the_models_own_loss(name, targets):
    from peft import LoraConfig, get_peft_model
    from transformers import TrainingArguments

    from instructalign.train.trainer import AlignTrainer

    model = tiny.CAUSAL[name]()
    modules = "all-linear" if targets == "all-linear" else ["lm_head", *LORA_ATTENTION[name]]
    torch.manual_seed(1)  # random B matrices: the adapters change every output they touch
    lora = get_peft_model(
        model, LoraConfig(r=4, lora_alpha=8, init_lora_weights=False, target_modules=modules)
    )
    lora.eval()
    trainer = AlignTrainer(
        model=lora, args=TrainingArguments(output_dir="/tmp/ia-lora", report_to=[], use_cpu=True)
    )
    batch = loss_batch()
    assert trainer.target_positions_only(lora)
    plain = lora(**batch).loss
    ours = trainer.compute_loss(lora, dict(batch))
    assert ours.item() == pytest.approx(plain.item(), rel=1e-5), name
    ours.backward()
    grads = {n: p.grad.clone() for n, p in lora.named_parameters() if p.requires_grad}
    lora.zero_grad()
    lora(**batch).loss.backward()
    for n, p in lora.named_parameters():
        if p.requires_grad:
            assert torch.allclose(grads[n], p.grad, atol=1e-6), n  # the adapters learn the same


LORA_ATTENTION = {
    "bloom": ["query_key_value"],
    "gpt2": ["c_attn"],
    "llama": ["q_proj", "v_proj"],
    "qwen2": ["q_proj", "v_proj"],
}


def test_the_chunked_head_gives_the_loss_and_gradients_of_one_pass(monkeypatch):
    from transformers import TrainingArguments

    from instructalign.train import trainer as trainer_module
    from instructalign.train.trainer import AlignTrainer

    assert trainer_module.head_chunk(250_880) == 267  # BLOOM's vocabulary: 267 x 250,880 x 4 B < 256 MB
    model = tiny.llama().eval()
    trainer = AlignTrainer(
        model=model, args=TrainingArguments(output_dir="/tmp/ia-chunk", report_to=[], use_cpu=True)
    )
    batch = loss_batch()

    def loss_and_grads(chunk: int):
        monkeypatch.setattr(trainer_module, "head_chunk", lambda vocab: chunk)
        model.zero_grad()
        loss = trainer.compute_loss(model, dict(batch))
        loss.backward()
        return loss.item(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}

    whole, chunked = loss_and_grads(10**6), loss_and_grads(4)  # 13 target positions: 4 chunks, recomputed
    assert chunked[0] == pytest.approx(whole[0], rel=1e-6)
    for n, g in whole[1].items():
        assert torch.allclose(chunked[1][n], g, atol=1e-7), n
