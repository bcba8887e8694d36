"""`instructalign study vocab`: what new tokens for the L2 languages buy, on a base that never saw them.

The base's tokenizer is fit on L1 text and its own instruction data only (recipe `tokenizer_l2: false`), as
a real base model's vocabulary was built without Javanese or Buginese. From it: the replay-only control,
aligned+replay without extension, and aligned+replay from the base extended by `vocab extend` with 2,000
tokens learned from the L2 languages' training text, initialised by `mean` and by `focus`; same steps.
Reported: L2 tokens per word (and L1 words whose tokenization changed), L2 weighted F1 with extension vs
without (non-inferiority with a 2-point margin, or a gain: the 95% interval of the paired difference), L1
kept, training target tokens/s and evaluation prompts/s.
"""

from __future__ import annotations

import statistics
from dataclasses import replace
from functools import partial
from pathlib import Path

from ..config import StudyConfig, VocabExtendConfig
from ..data.bitext import read_bitext
from ..experiment.design import ALIGN_OBJECTIVES, REPLAY_ONLY, Design, Preparation, aligned_replay
from ..experiment.recipe import L1, L2
from ..experiment.sources import sib200_folder
from ..experiment.study import Experiment, Results, Study
from ..files import read_json
from ..report.compare import Comparer
from ..report.tables import fmt_delta
from ..vocab.audit import fertility
from ..vocab.extend import extend, tokenizer_with_new_tokens
from .findings import shown, study_findings, training_summary

NO_EXTENSION = "no-extension"
METHODS = ("mean", "focus")
MARGIN = 2.0  # weighted-F1 points: extension non-inferior to no extension


ADD = 2000  # new tokens learned from the L2 languages' training text


def extended_base(init: str, base: str, folder: Path, nusax: Path, cfg: StudyConfig) -> Path:
    """The run's preparation: the base extended by `vocab extend` (ADD tokens learned from NusaX's L2 train
    text, the L1 words of NusaX and SIB-200 protected), written into the run folder once."""
    output = folder / "extended"
    if not (output / "instructalign_vocab.json").is_file():
        pivot_data = [str(sib200_folder(cfg, nusax))]
        extend(
            VocabExtendConfig(
                model=base,
                data=[str(nusax)],
                langs=L2,
                add=ADD,
                pivot_data=pivot_data,
                init=init,
                output=str(output),
                overwrite=True,
            )
        )
    return output


def designs(recipe) -> list[Design]:
    share = recipe.replay_share
    extended = [
        Design(
            f"extended-{m}",
            ALIGN_OBJECTIVES,
            share,
            before_train=Preparation(
                partial(extended_base, m), key=(m, ADD, "sib200"), tag=f"-vocab{ADD}{m}"
            ),
        )
        for m in METHODS
    ]
    return [REPLAY_ONLY, aligned_replay(share, NO_EXTENSION), *extended]


def variants(exp: Experiment) -> dict:
    return {"": replace(exp.recipe, tokenizer_l2=False)}


def tokenizers(results: Results) -> dict[str, str]:
    """The tokenizer each aligned run started from (seed 0): the base's, or its extended copy."""
    out = {}
    for name, folders in results.eval_dirs[""].items():
        model = read_json(Path(folders[0]) / "results.json", default={}).get("model", "")
        if name == "base":
            out[name] = model
        elif name.startswith("extended-"):
            out[name] = str(Path(model).parent.parent / "extended")
    return out


def fertility_rows(nusax: Path, paths: dict[str, str]) -> list[str]:
    """L2 tokens per word (the text the tokens were learned from, and held-out valid text) and L1 tokens per
    word for each starting tokenizer, and the L1 valid-split words each extension re-cuts — with two
    tokenizer-only variants beside the study's: pivots protected by NusaX's text only, and not protected."""
    from transformers import AutoTokenizer

    def texts(source, split, langs):
        return [r.texts[lang] for r in read_bitext(str(source), split) for lang in langs if lang in r.texts]

    l2, l2_valid, l1 = texts(nusax, "train", L2), texts(nusax, "valid", L2), texts(nusax, "train", L1)
    # re-cut L1 words are counted on the valid split: words the extension's pivot protection did not see
    running = [w for t in texts(nusax, "valid", L1) for w in t.split()]
    l1_words = sorted(set(running))
    loaded = {name: AutoTokenizer.from_pretrained(path) for name, path in paths.items()}
    base = loaded["base"]
    loaded["extended, pivots protected by NusaX text only (tokenizer only)"] = tokenizer_with_new_tokens(
        base, l2, ADD, l1
    )[0]
    loaded["extended, pivots unprotected (tokenizer only)"] = tokenizer_with_new_tokens(base, l2, ADD, [])[0]
    spaced = [" " + w for w in l1_words]  # as each word stands inside a sentence
    cut = {name: tok(spaced, add_special_tokens=False)["input_ids"] for name, tok in loaded.items()}
    before = {
        name: fertility(base, t).row()["tokens_per_word"] for name, t in (("train", l2), ("valid", l2_valid))
    }
    lines = [
        "| starting tokenizer | L2 tokens/word (train text) | vs base | L2 tokens/word (valid text) | vs "
        "base | L1 tokens/word | L1 valid-split words re-cut: types | occurrences |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, tok in loaded.items():
        per_word = {
            split: fertility(tok, t).row()["tokens_per_word"]
            for split, t in (("train", l2), ("valid", l2_valid))
        }
        recut = {w for w, a, b in zip(l1_words, cut[name], cut["base"]) if a != b}
        hits = sum(w in recut for w in running)
        lines.append(
            f"| {name} | {per_word['train']:.2f} | {100 * (per_word['train'] / before['train'] - 1):+.1f}% | "
            f"{per_word['valid']:.2f} | {100 * (per_word['valid'] / before['valid'] - 1):+.1f}% | "
            f"{fertility(tok, l1).row()['tokens_per_word']:.2f} | {len(recut):,} of {len(l1_words):,} "
            f"({100 * len(recut) / len(l1_words):.2f}%) | {hits:,} of {len(running):,} "
            f"({100 * hits / len(running):.2f}%) |"
        )
    return ["\n".join(lines)]


def speeds(exp: Experiment, results: Results) -> list[str]:
    """Training target tokens/s and evaluation prompts/s per run, means over seeds, and ratios to no
    extension."""
    rows = {}
    for name, folders in results.eval_dirs[""].items():
        train, evals = [], []
        for seed, folder in enumerate(folders):
            result = read_json(Path(folder) / "results.json", default={})
            summary = training_summary(folder)
            if "target_tokens_per_second" in summary:
                train.append(summary["target_tokens_per_second"])
            prompts = sum(
                m.get("n", 0) * len(m.get("templates", {}))
                for m in next(iter(result["tasks"].values())).values()
            )
            seconds = exp.job_seconds.get(f"seed {seed}", {}).get(f"eval {name}")
            if seconds:
                evals.append(prompts / seconds)
        rows[name] = (statistics.fmean(train) if train else None, statistics.fmean(evals) if evals else None)
    ref = rows.get(NO_EXTENSION, (None, None))
    lines = [
        "| run | train target tokens/s | vs no-extension | eval prompts/s | vs no-extension |",
        "|---|---|---|---|---|",
    ]
    for name, (t, e) in rows.items():
        ratio = lambda a, b: f"{a / b:.2f}x" if a and b else "—"  # noqa: E731
        lines.append(
            f"| {name} | {f'{t:,.0f}' if t else '—'} | {ratio(t, ref[0])} | {f'{e:,.0f}' if e else '—'} | "
            f"{ratio(e, ref[1])} |"
        )
    return [
        "\n".join(lines)
        + "\n\nSpeeds are each job's wall time with two jobs running side by side (1 thread each)."
    ]


def answer(exp: Experiment, results: Results) -> list[str]:
    """Tokens per word, extension vs no extension on L2 (paired interval), and the speeds."""
    report = results.reports[""]
    runs = {r.name: r for r in report["runs"]}
    l2 = report["roles"].get("L2", [])
    comparer = Comparer(report["task"], 2000, 0)
    words = []
    for m in METHODS:
        name = f"extended-{m}"
        if name in runs and NO_EXTENSION in runs and l2:
            c = comparer.compare(runs[name], runs[NO_EXTENSION], l2)
            verdict = "a gain" if shown(c) else "non-inferior" if shown(c, -MARGIN / 100) else "not shown"
            words.append(
                f"`{name}` vs `{NO_EXTENSION}` on L2: {fmt_delta(c, tag=False)} — {verdict} (non-inferiority "
                f"margin {MARGIN:g} points; {c['method'] or 'no interval'})."
            )
    paths = tokenizers(results)
    notes = fertility_rows(exp.nusax, paths) if paths.get("base") else []
    return notes + ["**Extension vs none.** " + " ".join(words)] + speeds(exp, results)


STUDY = Study(
    name="vocab",
    question="what new L2 tokens buy, on a base whose tokenizer never saw L2",
    title="InstructAlign study: vocabulary extension",
    designs=designs,
    findings=partial(study_findings, more=answer),
    variants=variants,
    user_model=False,
)
