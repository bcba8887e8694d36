import random

import pytest

from instructalign import languages
from instructalign.data import noise
from instructalign.data.objectives import ObjectiveContext, Pair, mt, tlm, xss
from instructalign.data.prompts import builtin_template_sets, render, select
from instructalign.errors import UserError


def test_aliases_resolve_to_iso_codes():
    assert languages.resolve("toba_batak", "test") == "bbc"
    assert languages.resolve("jav_Latn", "test") == "jav"
    assert languages.resolve("Javanese", "test") == "jav"
    assert {"ace", "ban", "bbc", "bjn", "bug", "eng", "ind", "jav", "mad", "min", "nij", "sun"} <= set(
        languages.LANGUAGES
    )


def test_unknown_language_lists_known_codes():
    with pytest.raises(UserError, match="unknown language 'klingon'.*known codes: abs, ace"):
        languages.resolve("klingon", "--targets")


def test_user_adds_a_language_from_config_rows():
    languages.register(
        [{"code": "rej", "name_en": "Rejang", "name_id": "Rejang", "aliases": ["rejang", "rej_Latn"]}]
    )
    assert languages.resolve("rej_Latn", "test") == "rej"
    assert languages.LANGUAGES["rej"].name("id") == "Rejang"


def test_at_least_six_templates_per_objective_in_english_and_indonesian():
    sets = builtin_template_sets()
    for objective in ("mt", "tlm", "xss", "mlm"):
        for pl in ("en", "id"):
            assert len(select(sets, objective, [pl])) >= 6, (objective, pl)


def test_render_golden_mt_prompt():
    tpl = "Translate the following text from {src_lang} to {tgt_lang}.\nText: {src}\nTranslation:"
    assert render(tpl, src_lang="Indonesian", tgt_lang="Javanese", src="Saya {suka} makan.") == (
        "Translate the following text from Indonesian to Javanese.\nText: Saya {suka} makan.\nTranslation:"
    )


def context(prompt_lang="en"):
    sets = builtin_template_sets()
    return ObjectiveContext(
        templates={o: select(sets, o, [prompt_lang])[:1] for o in ("mt", "tlm", "xss", "mlm")}
    )


PAIR = Pair("ind", "Hotel itu sangat bersih dan nyaman.", "jav", "Hotel iku resik banget lan kepenak.")


def test_mt_golden_strings_both_directions():
    out = mt(PAIR, context(), random.Random(0))
    assert [e["prompt"] for e in out] == [
        "Translate the following text from Indonesian to Javanese.\nText: Hotel itu sangat bersih dan "
        "nyaman.\nTranslation:",
        "Translate the following text from Javanese to Indonesian.\nText: Hotel iku resik banget lan "
        "kepenak.\nTranslation:",
    ]
    assert [e["target"] for e in out] == [PAIR.text_b, PAIR.text_a]
    assert [(e["src_lang"], e["tgt_lang"]) for e in out] == [("ind", "jav"), ("jav", "ind")]


def test_tlm_names_each_side_correctly_and_noises_the_target_language():
    out = tlm(PAIR, context(), random.Random(1))
    first = out[0]["prompt"]
    # context is the Indonesian sentence, the noisy copy is Javanese and the target is clean Javanese
    assert first.startswith("Here is a sentence in Indonesian: Hotel itu sangat bersih dan nyaman.\n")
    assert "Fix the following noisy Javanese translation of it: " in first
    noisy = first.split("translation of it: ")[1].split("\nCorrected:")[0]
    assert noisy != PAIR.text_b and out[0]["target"] == PAIR.text_b
    assert out[1]["target"] == PAIR.text_a and "noisy Indonesian" in out[1]["prompt"]


def test_indonesian_templates_use_indonesian_language_names():
    out = mt(PAIR, context("id"), random.Random(0))
    assert out[0]["prompt"].startswith("Terjemahkan teks berikut dari bahasa Indonesia ke bahasa Jawa.")


def test_xss_negatives_differ_from_the_true_translation():
    ctx = context()
    rng = random.Random(3)
    for s in [
        "Aku seneng mangan sega.",
        "Pelayanane alon banget dina iki.",
        "Regane tiket murah lan kejangkau.",
    ]:
        ctx.pool.add("jav", s)
    for s in ["Saya suka makan nasi.", "Pelayanannya lambat sekali hari ini.", "Harga tiketnya murah."]:
        ctx.pool.add("ind", s)  # a build adds both sides of every pair; negatives come from the pool
    answers = []
    for _ in range(200):
        for ex in xss(PAIR, ctx, rng):
            answers.append(ex["target"])
            if ex["target"] == "No":
                assert PAIR.text_b not in ex["prompt"] or PAIR.text_a not in ex["prompt"]
    assert 0.4 < answers.count("Yes") / len(answers) < 0.6


def test_noise_always_changes_the_sentence():
    rng = random.Random(0)
    for text in ["satu", "dua kata", "Hotel iku resik banget lan kepenak.", "a b c d e f g h"]:
        for _ in range(200):
            assert noise.add_noise(text, rng) != text


def test_noise_kinds():
    rng = random.Random(0)
    toks = "a b c d e f g h i j".split()
    assert noise.mask_spans(toks, 1.0, rng) == ["<mask>"]
    assert len(noise.delete_words(toks, 0.5, rng)) < len(toks)
    perm = noise.permute_locally(toks, 3, rng)
    assert sorted(perm) == sorted(toks)
    assert all(abs(perm.index(t) - i) <= 3 for i, t in enumerate(toks))
