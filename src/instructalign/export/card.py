"""Model cards the hub can index: YAML front matter on every model this project writes, and `instructalign
card` to add an evaluation's scores as a `model-index`.

Built with `huggingface_hub`'s `ModelCard`, `ModelCardData` and `EvalResult` rather than by hand, so the
metadata is what the hub parses: `base_model` (+ `base_model_relation`), `language` (the ISO 639-3 codes of
the L1 and L2 languages in the data manifest), `datasets` (hub sources of the data), `tags`, `library_name`,
`pipeline_tag`, and `license` when the base model's own card names one.
"""

from __future__ import annotations

from pathlib import Path

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


def hub_base(base: str) -> str | list[str] | None:
    """What to name as `base_model`: a hub id as given; for a local folder, the hub model its own card names
    (the hub accepts only hub ids there), else nothing."""
    if not is_local(base):
        return base
    return base_card_data(base).get("base_model")


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
) -> str:
    """A model card: front matter from what the model is, then `body` (the prose)."""
    from huggingface_hub import ModelCard, ModelCardData

    languages, datasets = manifest_metadata(data)
    bases = [b for b in [hub_base(base), *map(hub_base, extra_bases)] if b]
    flat = list(dict.fromkeys(x for b in bases for x in (b if isinstance(b, list) else [b])))
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
    """`EvalResult`s of one classification results.json: weighted F1 x100 per language and group mean."""
    from huggingface_hub import EvalResult

    task, split = results["task"], results.get("split", "test")
    common = {
        "task_type": "text-classification",
        "task_name": f"{task} (rank classification)",
        "dataset_type": task,
        "dataset_split": split,
        "metric_type": "f1",
        "metric_name": "weighted F1 (x100, mean over templates)",
    }
    found = [
        EvalResult(
            dataset_name=f"{task} {lang}",
            dataset_config=lang,
            metric_value=round(100 * m["weighted_f1"], 2),
            **common,
        )
        for lang, m in results["tasks"][task].items()
    ]
    found += [
        EvalResult(
            dataset_name=f"{task} {role} mean",
            dataset_config=role,
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
            found.append(results)
    return found


def add_results(model: str, evals: list[str]) -> Path:
    """`instructalign card`: the model's card gains a `model-index` with every classification result."""
    from huggingface_hub import ModelCard

    readme = Path(model or "") / "README.md"
    if not model or not readme.is_file():
        raise UserError(
            f"--model {model}: no README.md (model card) here; give a folder train or merge wrote"
        )
    if not evals:
        raise UserError("no --eval given; name the eval output folder(s) of this model")
    try:
        card = ModelCard.load(readme)
    except Exception as exc:  # huggingface_hub raises yaml's and its own errors for a damaged front matter
        raise UserError(
            f"{readme}: its front matter cannot be read ({first_line(exc)}); repair or remove it"
        ) from None
    results = [r for e in evals for r in classification_results(Path(e))]
    if not results:
        raise UserError(f"--eval {', '.join(evals)}: no classification results to add")
    card.data.model_name = card.data.model_name or Path(model).resolve().name
    kept = [r for r in (card.data.eval_results or []) if r.dataset_type not in {x["task"] for x in results}]
    card.data.eval_results = kept + [e for r in results for e in eval_results(r)]
    write_atomically(readme, str(card))
    print(
        f"{readme}: model-index with {len(card.data.eval_results)} results "
        f"({', '.join(r['task'] for r in results)})"
    )
    return readme
