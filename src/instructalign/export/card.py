"""Model cards the hub can index: YAML front matter on every model this project writes, and `instructalign
card` to add an evaluation's scores as a `model-index`.

Built with `huggingface_hub`'s `ModelCard`, `ModelCardData` and `EvalResult` rather than by hand, so the
metadata is what the hub parses: `base_model` (+ `base_model_relation`), `language` (the ISO 639-3 codes of
the L1 and L2 languages in the data manifest), `datasets` (hub sources of the data), `tags`, `library_name`,
`pipeline_tag`, and `license` when the base model's own card names one.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..config import CardConfig
from ..errors import UserError
from ..files import read_json, write_atomically
from ..models import first_line

TAGS = ["instructalign", "continual-learning", "crosslingual-alignment"]


def is_local(name: str) -> bool:
    return Path(name).expanduser().exists()


def base_card_data(base: str) -> dict:
    """The metadata of a local base model's own card (empty for a hub id or a folder without a card)."""
    from huggingface_hub import ModelCard

    readme = Path(base).expanduser() / "README.md"
    if not readme.is_file():
        return {}
    try:
        return ModelCard.load(readme).data.to_dict()
    except Exception:  # a card we cannot parse only costs its license
        return {}


SNAPSHOT = re.compile(r"models--(?P<org>[^/]+?)--(?P<name>[^/]+)/snapshots/[^/]+/?$")


def hub_id(base: str, given: str | None = None) -> str | None:
    """What to name as `base_model` (the hub accepts only hub ids there): `given`, a hub id as is, the id of a
    hub-cache snapshot folder (models--ORG--NAME/snapshots/REV), else nothing — never the base's own base,
    which a local copy's card names (an instruct model's card names the model it was tuned from)."""
    if given:
        return given
    if not is_local(base):
        return base
    found = SNAPSHOT.search(Path(base).expanduser().resolve().as_posix())
    return f"{found['org']}/{found['name']}" if found else None


def manifest_metadata(data_folder: str | None) -> tuple[list[str], list[str]]:
    """(languages, hub datasets) of a `data build` folder's manifest: pivots and targets, and the hf:
    sources."""
    manifest = Path(data_folder or "") / "manifest.json"
    if not data_folder or not manifest.is_file():
        return [], []
    doc = read_json(manifest, what="manifest")
    settings = doc.get("settings", {})
    languages = list(dict.fromkeys([*settings.get("pivots", []), *settings.get("targets", [])]))
    if not languages:  # a replay-only build: its language pairs, if any
        pairs = doc.get("counts", {}).get("by_language_pair", {})
        languages = sorted({code for pair in pairs for code in pair.split("-")})
    sources = [i["path"] for i in doc.get("inputs", []) if str(i.get("path", "")).startswith("hf:")]
    datasets = list(dict.fromkeys(s[3:].split(":")[0] for s in sources))
    return languages, datasets


def card_text(
    body: str,
    *,
    base: str,
    relation: str,
    adapter: bool,
    seq2seq: bool,
    data: str | None = None,
    extra_bases: tuple[str, ...] = (),
    base_id: str | None = None,
) -> str:
    """A model card: front matter from what the model is, then `body` (the prose)."""
    from huggingface_hub import ModelCard, ModelCardData

    languages, datasets = manifest_metadata(data)
    flat = list(dict.fromkeys(b for b in [hub_id(base, base_id), *map(hub_id, extra_bases)] if b))
    license_ = base_card_data(base).get("license") if is_local(base) else None
    metadata = ModelCardData(
        base_model=(flat[0] if len(flat) == 1 else flat) or None,
        language=languages or None,
        datasets=datasets or None,
        library_name="peft" if adapter else "transformers",
        pipeline_tag="text2text-generation" if seq2seq else "text-generation",
        license=license_,
        tags=TAGS,
    )
    if flat:
        metadata.base_model_relation = relation
    return str(ModelCard(f"---\n{metadata.to_yaml()}\n---\n\n{body}"))


def eval_results(results: dict) -> list:
    """`EvalResult`s of one classification results.json: weighted F1 x100 per language and group mean, each
    with its split, its sentence limit and the number of sentences it scored."""
    from huggingface_hub import EvalResult

    task, split = results["task"], results.get("split", "test")
    limit = (results.get("settings") or {}).get("limit")
    scored = f"{split}, first {limit} per language" if limit else split
    common = {
        "task_type": "text-classification",
        "task_name": f"{task} (rank classification)",
        "dataset_type": task,
        "dataset_split": split,
        "metric_type": "f1",
        "metric_name": "weighted F1 (x100, mean over templates)",
    }
    per_lang = results["tasks"][task]
    found = [
        EvalResult(
            dataset_name=f"{task} {lang} ({scored})",
            dataset_config=lang,
            dataset_args={"limit": limit, "examples": m["n"]},
            metric_value=round(100 * m["weighted_f1"], 2),
            **common,
        )
        for lang, m in per_lang.items()
    ]
    found += [
        EvalResult(
            dataset_name=f"{task} {role} mean ({scored})",
            dataset_config=role,
            dataset_args={"limit": limit, "languages": g["languages"]},
            metric_value=round(100 * g["weighted_f1"], 2),
            **common,
        )
        for role, g in results.get("groups", {}).items()
    ]
    return found


def classification_results(folder: Path) -> list[dict]:
    """The classification results.json files of an eval output (one task, or one subfolder per task)."""
    files = (
        [folder / "results.json"]
        if (folder / "results.json").is_file()
        else sorted(folder.glob("*/results.json"))
    )
    if not files:
        raise UserError(
            f"--eval {folder}: no results.json here (nor in its task folders); give an eval --output"
        )
    found = []
    for path in files:
        results = read_json(path, default=None)
        if not isinstance(results, dict):
            raise UserError(f"{path}: not readable JSON; rerun the evaluation")
        if results.get("kind") == "classification":
            try:
                eval_results(results)
            except (KeyError, TypeError, AttributeError, ValueError):
                raise UserError(
                    f"{path}: not the results of 'instructalign eval' (damaged?); rerun it"
                ) from None
            found.append(results | {"_path": str(path)})
    return found


def check_same_model(results: dict, model: Path) -> None:
    """An evaluation of another model is refused: its scores would be published as this one's."""
    scored = results.get("model") or ""
    if not Path(scored).exists() or Path(scored).resolve() != model.resolve():
        raise UserError(
            f"{results['_path']}: an evaluation of {scored or 'an unnamed model'}, not of {model}; evaluate "
            f"this model (instructalign eval --model {model}) and add that"
        )


def model_index_name(model: Path, name: str | None) -> str:
    """--name, else the run folder's name (the folder holding final/ or best/), else the model folder's."""
    folder = model.resolve()
    return name or (folder.parent.name if folder.name in ("final", "best") else folder.name)


def add_results(cfg: CardConfig) -> Path:
    """`instructalign card`: the model's card gains a `model-index` with every classification result of this
    model, a results table and a usage snippet; `base_model` is corrected when --base-model-id is given."""
    from huggingface_hub import ModelCard

    model = Path(cfg.model or "")
    readme = model / "README.md"
    if not cfg.model or not readme.is_file():
        raise UserError(
            f"--model {cfg.model}: no README.md (model card) here; give a folder train or merge wrote"
        )
    if not cfg.eval:
        raise UserError("no --eval given; name the eval output folder(s) of this model")
    try:
        card = ModelCard.load(readme)
    except Exception as exc:  # huggingface_hub raises yaml's and its own errors for a damaged front matter
        raise UserError(
            f"{readme}: its front matter cannot be read ({first_line(exc)}); repair or remove it"
        ) from None
    results = [r for e in cfg.eval for r in classification_results(Path(e))]
    if not results:
        raise UserError(f"--eval {', '.join(cfg.eval)}: no classification results to add")
    for r in results:
        check_same_model(r, model)
    card.data.model_name = model_index_name(model, cfg.name)
    if cfg.base_model_id:
        card.data.base_model = cfg.base_model_id
    kept = [r for r in (card.data.eval_results or []) if r.dataset_type not in {x["task"] for x in results}]
    card.data.eval_results = kept + [e for r in results for e in eval_results(r)]
    card.text = with_section(card.text, results_section(card.data.eval_results) + "\n" + usage_section(model))
    write_atomically(readme, str(card))
    print(
        f"{readme}: model-index '{card.data.model_name}' with {len(card.data.eval_results)} results "
        f"({', '.join(r['task'] for r in results)})"
    )
    return readme


START, END = "<!-- instructalign:results -->", "<!-- /instructalign:results -->"


def with_section(text: str, section: str) -> str:
    """The card's prose with its generated section replaced (or appended the first time)."""
    block = f"{START}\n{section}\n{END}"
    if START in text and END in text:
        return text[: text.index(START)] + block + text[text.index(END) + len(END) :]
    return text.rstrip() + "\n\n" + block + "\n"


def results_section(results: list) -> str:
    """The model-index as a table a reader sees."""
    lines = [
        "## Results",
        "",
        "Weighted F1 x100 (rank classification, mean over the prompt templates), as `instructalign eval` "
        "scored it.",
        "",
        "| task | language / group | weighted F1 | split | sentences |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        n = (r.dataset_args or {}).get("examples", "")
        lines.append(
            f"| {r.dataset_type} | {r.dataset_config} | {r.metric_value:.1f} | {r.dataset_split} | {n} |"
        )
    return "\n".join(lines) + "\n"


def usage_section(model: Path) -> str:
    """How to load it once pushed to the hub (ORG/NAME is that repository): transformers, or peft for an
    adapter (it loads its base itself)."""
    adapter = read_json(model / "adapter_config.json", default=None)
    config = read_json(model / "config.json", default={})
    seq2seq = (adapter or {}).get("task_type") == "SEQ_2_SEQ_LM" or bool(config.get("is_encoder_decoder"))
    kind = "Seq2SeqLM" if seq2seq else "CausalLM"
    auto, package = (
        (f"AutoPeftModelFor{kind}", "peft") if adapter else (f"AutoModelFor{kind}", "transformers")
    )
    repo = f"ORG/{model_index_name(model, None)}"
    lines = [
        "## Usage",
        "",
        "```python",
        f"from {package} import {auto}",
        "from transformers import AutoTokenizer",
        "",
        f'model = {auto}.from_pretrained("{repo}")',
        f'tokenizer = AutoTokenizer.from_pretrained("{repo}")',
    ]
    if not seq2seq and has_chat_template(model):
        lines += CHAT_USAGE
    return "\n".join([*lines, "```", ""])


# A model trained in its chat template is prompted in it (the template is saved with the tokenizer).
CHAT_USAGE = [
    'messages = [{"role": "user", "content": "Terjemahkan ke bahasa Bugis: Saya suka makan nasi goreng."}]',
    "inputs = tokenizer.apply_chat_template(",
    '    messages, add_generation_prompt=True, return_dict=True, return_tensors="pt"',
    ")",
    "answer = model.generate(**inputs, max_new_tokens=64)[0, inputs['input_ids'].shape[1] :]",
    "print(tokenizer.decode(answer, skip_special_tokens=True))",
]


def has_chat_template(model: Path) -> bool:
    """Whether the folder's tokenizer carries a chat template (transformers 5 writes chat_template.jinja)."""
    tokenizer_config = read_json(model / "tokenizer_config.json", default={})
    return (model / "chat_template.jinja").is_file() or bool(tokenizer_config.get("chat_template"))
