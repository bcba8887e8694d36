"""Every score equals a plain model(...) forward; results don't depend on batch size."""

import pytest
import torch

import tiny
from instructalign.evaluate.scoring import score_choices

PROMPTS = [
    "Hotel itu sangat bersih dan nyaman.\nWhat would be the sentiment of the text above?",
    "The service is very slow today.\nWhat would be the sentiment?",
    "Apakah sentimen dari teks di atas?",
]
CHOICES = [
    [" positive", " neutral", " negative"],
    [" positif", " netral", " negatif"],
    [" Yes", " No", " Ya tidak"],
]


def reference_causal(model, tok, prompt, choice):
    p = tok(prompt)["input_ids"]
    c = tok(choice, add_special_tokens=False)["input_ids"]
    logits = model(torch.tensor([p + c])).logits[0].float()
    lp = torch.log_softmax(logits, -1)
    return sum(lp[len(p) - 1 + j, t].item() for j, t in enumerate(c))


def reference_seq2seq(model, tok, prompt, choice):
    p = tok(prompt)["input_ids"]
    c = tok(choice, add_special_tokens=False)["input_ids"]
    dec = [model.config.decoder_start_token_id] + c[:-1]
    logits = model(input_ids=torch.tensor([p]), decoder_input_ids=torch.tensor([dec])).logits[0].float()
    lp = torch.log_softmax(logits, -1)
    return sum(lp[j, t].item() for j, t in enumerate(c))


@pytest.mark.parametrize(
    "make,seq2seq", [(tiny.bloom, False), (tiny.gpt2, False), (tiny.t5, True)], ids=["bloom", "gpt2", "t5"]
)
def test_scores_match_a_plain_forward(make, seq2seq):
    model, tok = make(), tiny.tokenizer()
    ref = reference_seq2seq if seq2seq else reference_causal
    with torch.no_grad():
        got = score_choices(model, tok, PROMPTS, CHOICES, seq2seq)
        for i, prompt in enumerate(PROMPTS):
            for j, choice in enumerate(CHOICES[i]):
                assert got[i].logprob[j] == pytest.approx(ref(model, tok, prompt, choice), abs=1e-4)
                assert got[i].n_tokens[j] == len(tok(choice, add_special_tokens=False)["input_ids"])


@pytest.mark.parametrize(
    "make,seq2seq", [(tiny.bloom, False), (tiny.gpt2, False), (tiny.t5, True)], ids=["bloom", "gpt2", "t5"]
)
def test_batch_size_does_not_change_scores(make, seq2seq):
    model, tok = make(), tiny.tokenizer()
    together = score_choices(model, tok, PROMPTS, CHOICES, seq2seq)
    alone = [score_choices(model, tok, [p], [c], seq2seq)[0] for p, c in zip(PROMPTS, CHOICES)]
    for a, b in zip(together, alone):
        assert a.logprob == pytest.approx(b.logprob, abs=1e-4)
