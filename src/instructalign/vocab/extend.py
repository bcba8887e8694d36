"""`instructalign vocab extend`: new tokens for new languages, with embeddings initialised from the old ones.

1. Learn up to N new tokens from the target languages' training text only (test sentences of NusaX/SIB-200
   folders and of `--exclude` files are left out first) by continuing the tokenizer's own segmentation there
   (`learn.py`: the most frequent adjacent pair of the old tokenizer's cuts joined, again and again), none
   that would re-cut a word of the pivot languages' text (`--pivots`, default eng,ind, from `--data` and
   `--pivot-data`; none to allow it).
2. Write them the way the tokenizer's type allows; every old token keeps its id:
   - byte-level BPE (GPT-2, BLOOM, Llama 3, Qwen): merges appended after the old ones, so old merges keep
     their priority, a text changes its tokens only where a new merge applies, and the new tokenizer cuts the
     text exactly as the merges were learned;
   - Unigram / SentencePiece (T5, mT5, XLM-R): pieces appended to the vocabulary, each scored a little above
     the two it joins (so Viterbi prefers it where it fits: the cut follows the learned one closely, not
     exactly); a piece occurs in no pivot word, so a pivot word seen in the text keeps its cut.
   Other types (WordPiece, SentencePiece-BPE without byte-level pre-tokenization) are refused in one line.
3. Resize the input embeddings (and an untied LM head) and initialise each new row:
   - `mean` (FVT, Gee et al. 2022): the mean of the rows of the pieces the old tokenizer makes of the token;
   - `focus` (after FOCUS, Dobler & de Melo 2023): a sparsemax-weighted sum of the rows of old tokens that
     are similar to it in an auxiliary embedding space learned from the same target text (here PPMI
     co-occurrence vectors reduced by SVD, standing in for FOCUS's fastText); a token with no similar old
     token falls back to `mean`.
4. Save model + tokenizer (`from_pretrained` loads them; `train` and `eval` take the folder), a model card and
   `instructalign_vocab.json` (languages, N, method, each new token and its id).
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

from ..config import VocabExtendConfig, as_dict
from ..data.contamination import (
    check_not_evaluation,
    guarded_files,
    load_exclusions,
    normalize,
    texts_of_file,
)
from ..errors import UserError
from ..files import write_atomically, write_json
from ..languages import resolve_list
from ..models import load_model, load_model_config, load_tokenizer
from ..outputs import check_output, mark_owner, owned_output, replaced_folder
from .audit import texts_by_language
from .learn import Protection, learn_pairs

METHODS = ("mean", "focus")


def check(cfg: VocabExtendConfig) -> None:
    if not cfg.model or not cfg.data or not cfg.langs or not cfg.output:
        raise UserError(
            "vocab extend needs --model, --data (training text), --langs (the new languages) and --output"
        )
    check_not_evaluation(cfg.data, cfg.split, "--data", None)  # test sentences never reach the tokenizer
    if cfg.init not in METHODS:
        raise UserError(f"--init {cfg.init}: choose one of {', '.join(METHODS)}")
    if (Path(cfg.model) / "adapter_config.json").is_file():
        raise UserError(
            f"{cfg.model}: a LoRA adapter, and vocab extend needs a whole model (its embeddings grow); merge "
            f"the adapter into its base first: instructalign merge --tuned {cfg.model} --output MERGED"
        )
    inputs = [
        ("--model", cfg.model),
        *(("--data", p) for p in cfg.data),
        *(("--pivot-data", p) for p in cfg.pivot_data),
        *(("--exclude", p) for p in cfg.exclude),
    ]
    check_output(Path(cfg.output), inputs, replaces=True)


UNIGRAM_BONUS = 1.0  # a new piece's log-probability above the sum of the two it joins


def tokenizer_state(tokenizer) -> tuple[str, dict]:
    """("bpe" or "unigram", the tokenizer's state as a dict), or a one-line refusal for a type this cannot
    extend."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    state = json.loads(backend.to_str()) if backend is not None else {}
    model = state.get("model") or {}
    if model.get("type") == "BPE" and "ByteLevel" in json.dumps(state.get("pre_tokenizer")):
        return "bpe", state
    if model.get("type") == "Unigram":
        beyond = [t["content"] for t in state.get("added_tokens", []) if t["id"] >= len(model["vocab"])]
        if beyond:
            raise UserError(
                f"Unigram tokenizer with added tokens after its vocabulary ({beyond[0]}, ...): new pieces "
                "would take their ids; vocab extend cannot extend this tokenizer"
            )
        return "unigram", state
    kind = model.get("type") or type(tokenizer).__name__
    raise UserError(
        f"tokenizer type {kind}: vocab extend adds merges to byte-level BPE tokenizers (GPT-2, BLOOM, Llama "
        "3, Qwen) and pieces to Unigram/SentencePiece ones (T5, mT5, XLM-R); WordPiece and "
        "SentencePiece-BPE are not supported"
    )


def known_tokens(kind: str, state: dict) -> set[str]:
    vocab = state["model"]["vocab"]
    return set(vocab) if kind == "bpe" else {piece for piece, _ in vocab}


def extended_tokenizer(tokenizer, kind: str, state: dict, pairs: list[tuple[str, str]]):
    """The tokenizer with the joined pairs added (merges or pieces) and given the next free ids; (tokenizer,
    first new id)."""
    from transformers import AutoTokenizer

    model = state["model"]
    if kind == "bpe":
        first = 1 + max([*model["vocab"].values(), *(t["id"] for t in state.get("added_tokens", []))])
        for i, (a, b) in enumerate(pairs):
            model["vocab"][a + b] = first + i
        as_strings = bool(model["merges"]) and isinstance(model["merges"][0], str)
        model["merges"] += [f"{a} {b}" if as_strings else [a, b] for a, b in pairs]
    else:
        first, score = len(model["vocab"]), dict(map(tuple, model["vocab"]))
        for a, b in pairs:  # in the order learned: a piece's parts are scored before it
            score[a + b] = score[a] + score[b] + UNIGRAM_BONUS
            model["vocab"].append([a + b, score[a + b]])
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer.save_pretrained(tmp)
        (Path(tmp) / "tokenizer.json").write_text(json.dumps(state, ensure_ascii=False), "utf-8")
        return AutoTokenizer.from_pretrained(tmp), first


def old_pieces(old_tokenizer, tokens: list[str]) -> list[list[int]]:
    """For each new token: the ids of the pieces the old tokenizer's model cuts its text into."""
    model = old_tokenizer.backend_tokenizer.model
    return [[t.id for t in model.tokenize(token)] for token in tokens]


def sparsemax(z: np.ndarray) -> np.ndarray:
    """Sparsemax (Martins & Astudillo, 2016): the Euclidean projection of z onto the simplex."""
    s = np.sort(z)[::-1]
    cumulative = np.cumsum(s)
    k = np.arange(1, len(z) + 1)
    support = k[1 + k * s > cumulative].max()
    tau = (cumulative[support - 1] - 1) / support
    return np.maximum(z - tau, 0)


def auxiliary_vectors(
    new_tokenizer, texts: list[str], dim: int = 64, window: int = 4
) -> dict[int, np.ndarray]:
    """Token vectors from the target text (tokenized with the extended tokenizer): positive PMI of
    co-occurrence within `window` tokens, reduced to `dim` by truncated SVD, unit length."""
    from scipy.sparse import coo_matrix
    from sklearn.decomposition import TruncatedSVD

    encoded = new_tokenizer(texts, add_special_tokens=False)["input_ids"]
    ids = sorted({i for seq in encoded for i in seq})
    index = {t: k for k, t in enumerate(ids)}
    pairs: Counter = Counter()
    for seq in encoded:
        rows = [index[t] for t in seq]
        for p, a in enumerate(rows):
            for b in rows[p + 1 : p + 1 + window]:
                pairs[a, b] += 1
                pairs[b, a] += 1
    keys = np.array(list(pairs), dtype=np.int64).reshape(-1, 2)
    counts = np.array(list(pairs.values()), dtype=np.float64)
    total, by_row = counts.sum(), np.bincount(keys[:, 0], weights=counts, minlength=len(ids))
    pmi = np.log(counts * total / (by_row[keys[:, 0]] * by_row[keys[:, 1]]))
    keep = pmi > 0
    matrix = coo_matrix((pmi[keep], (keys[keep, 0], keys[keep, 1])), shape=(len(ids), len(ids))).tocsr()
    reduced = TruncatedSVD(n_components=min(dim, len(ids) - 1), random_state=0).fit_transform(matrix)
    reduced /= np.maximum(np.linalg.norm(reduced, axis=1, keepdims=True), 1e-12)
    return {t: reduced[index[t]] for t in ids}


def focus_weights(
    vectors: dict[int, np.ndarray], new_ids: list[int], old_size: int
) -> dict[int, dict[int, float]]:
    """For each new token present in the text: sparsemax weights over the old tokens most similar to it."""
    overlap = [t for t in vectors if t < old_size]
    if not overlap:
        return {}
    old = np.stack([vectors[t] for t in overlap])
    weights = {}
    for t in new_ids:
        if t in vectors:
            w = sparsemax(
                old @ vectors[t] / 0.1
            )  # a temperature sharpens cosine similarities into a few tokens
            weights[t] = {overlap[j]: float(w[j]) for j in np.flatnonzero(w)}
    return weights


def initialise(matrix, rows: dict[int, list[int] | dict[int, float]]) -> None:
    """Set each new row: the mean of a list of old rows, or the weighted sum of a {row: weight} mapping."""
    import torch

    with torch.no_grad():
        for new, source in rows.items():
            if isinstance(source, dict):
                ids = list(source)
                w = torch.tensor([source[i] for i in ids], dtype=matrix.dtype).unsqueeze(1)
                matrix[new] = (matrix[ids] * w).sum(0) / w.sum()
            else:
                matrix[new] = matrix[source].mean(0)


def tokenizer_with_new_tokens(tokenizer, corpus: list[str], n: int, pivot_text: list[str]):
    """(extended tokenizer, first new id, the pairs joined): up to `n` new tokens learned from `corpus`, none
    that would re-cut the pivot text's words."""
    kind, state = tokenizer_state(tokenizer)
    protection = Protection(kind, tokenizer, pivot_text) if pivot_text else None
    pairs = learn_pairs(tokenizer, known_tokens(kind, state), corpus, n, protection)
    new_tokenizer, first = extended_tokenizer(tokenizer, kind, state, pairs)
    return new_tokenizer, first, pairs


def extend(cfg: VocabExtendConfig) -> dict:
    """Extend the model's vocabulary for `cfg.langs`; returns the record written as instructalign_vocab.json.
    The output folder is locked from the start and written whole at the end (`outputs`)."""
    check(cfg)
    out = Path(cfg.output)
    settings = {k: v for k, v in as_dict(cfg).items() if k not in ("output", "overwrite")}
    with owned_output(out, "vocab extend", settings, cfg.overwrite):
        model, new_tokenizer, record = extended(cfg)
        with replaced_folder(out) as tmp:
            save(model, new_tokenizer, record, tmp)
            mark_owner(tmp, "vocab extend", settings)
    first, added = record["first_new_id"], record["added"]
    print(
        f"added {added:,} tokens (ids {first:,}-{first + added - 1:,}) for {', '.join(record['languages'])}, "
        f"initialised by {cfg.init}; model and tokenizer in {cfg.output}"
    )
    return record


def extended(cfg: VocabExtendConfig) -> tuple:
    """(the model with its new rows initialised, the extended tokenizer, the record of what was added)."""
    langs = resolve_list(cfg.langs, "--langs")
    load_model_config(cfg.model)  # a wrong --model is found before any text is read
    tokenizer = load_tokenizer(cfg.model)  # the one load_model gives, without the weights
    kind, _ = tokenizer_state(tokenizer)  # a tokenizer this cannot extend: refused before the text is read
    excluded, _ = load_exclusions(cfg.exclude)
    for path in guarded_files(cfg.data, cfg.split):  # a benchmark read for its training text guards its tests
        excluded |= texts_of_file(path)
    pivots = resolve_list(cfg.pivots, "--pivots") if cfg.pivots else []
    texts = texts_by_language(cfg.data, cfg.split, langs + pivots, cfg.limit)  # one pass over the data
    corpus = [t for lang in langs for t in texts.get(lang, []) if normalize(t) not in excluded]
    if not corpus:
        raise UserError(
            f"--langs {','.join(langs)}: no training text of these languages in {', '.join(cfg.data)}"
        )
    pivot_text = [t for lang in pivots if lang not in langs for t in texts.get(lang, [])]
    if cfg.pivot_data:
        protected = [p for p in pivots if p not in langs]
        more = texts_by_language(cfg.pivot_data, cfg.split, protected, None) if protected else {}
        if not any(more.values()):
            raise UserError(
                f"--pivot-data {', '.join(cfg.pivot_data)}: no {cfg.split} text of the pivots "
                f"({', '.join(protected) or 'none given'}); give a source with their text, or drop it"
            )
        pivot_text += [t for found in more.values() for t in found]
    new_tokenizer, first, merges = tokenizer_with_new_tokens(tokenizer, corpus, cfg.add, pivot_text)
    model, _, _ = load_model(cfg.model)  # the weights, once the text and the new tokens are known to be good
    new_ids = list(range(first, first + len(merges)))
    old_rows = model.get_input_embeddings().weight.shape[0]
    model.resize_token_embeddings(max(old_rows, first + len(merges)), mean_resizing=False)
    pieces = dict(zip(new_ids, old_pieces(tokenizer, [a + b for a, b in merges])))
    sources: dict[int, list[int] | dict[int, float]] = dict(pieces)
    if cfg.init == "focus":
        sources |= focus_weights(auxiliary_vectors(new_tokenizer, corpus), new_ids, first)
    initialise(model.get_input_embeddings().weight, sources)
    head = model.get_output_embeddings()
    if head is not None and head.weight.data_ptr() != model.get_input_embeddings().weight.data_ptr():
        initialise(head.weight, sources)  # an untied head: its new rows from its own old rows
    record = {
        "base_model": cfg.model,
        "languages": langs,
        "added": len(merges),
        "asked": cfg.add,
        "init": cfg.init,
        "kind": kind,
        "protected_pivots": pivots,
        "pivot_sentences": len(pivot_text),
        "sentences": len(corpus),
        "first_new_id": first,
        "tokens": {new_tokenizer.convert_ids_to_tokens(i): i for i in new_ids},
    }
    return model, new_tokenizer, record


def save(model, tokenizer, record: dict, tmp: Path) -> None:
    model.save_pretrained(str(tmp))
    tokenizer.save_pretrained(str(tmp))
    write_json(tmp / "instructalign_vocab.json", record)
    written = (
        "byte-level BPE merges appended after the old merges"
        if record["kind"] == "bpe"
        else "Unigram pieces appended to the vocabulary"
    )
    method = (
        "the mean of its old pieces' rows (FVT)"
        if record["init"] == "mean"
        else ("a sparsemax-weighted sum of similar old tokens' rows (after FOCUS)")
    )
    write_atomically(
        tmp / "README.md",
        f"""---
tags: [instructalign, vocabulary-extension]
---
# {record["base_model"]} with {record["added"]:,} new tokens

Extended by `instructalign vocab extend` for {", ".join(record["languages"])}: {record["added"]:,} new
tokens learned from {record["sentences"]:,} training sentences (test sentences excluded), {written} (every
old token keeps its id). Each new embedding row was initialised from {method}.
""",
    )
