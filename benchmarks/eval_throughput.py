"""Examples per second of `instructalign eval` versus (a) the original InstructAlign approach (one full
forward of prompt+label per label, as in its main_nlu_prompt_batch.py) and (b) lm-evaluation-harness
(a `multiple_choice` task over the same rows), on the same model (GPT-2 style, 12.5M parameters by
default) and 3-label NusaX task, with a check that the predictions agree. `instructalign eval` and
lm-eval are each timed as a whole process (start, imports, model load, scoring, writing results).

    python benchmarks/eval_throughput.py [--data ../shared/data/nusax] [--limit 50] [--d-model 384 --layers 6]
        [--lm-eval-python /path/to/venv/bin/python]   # a Python with lm-eval[hf] (default: this one)
        [--skip-original] [--repeats 3]

Each process pays a fixed cost (start, imports, model load, task set-up) before it scores — about 6 s for
ours and 20–30 s for lm-eval here — so the ratio moves with the number of examples toward the ratio of scoring
alone; measure at the size you evaluate at (the full NusaX test set is 400 sentences per language).
lm-eval's own time varies by +-5 s between identical runs here, so `--repeats` runs both processes that many
times, alternating, and prints each pair's ratio and their median.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from common import nusax_path, tiny_model

from instructalign.data.prompts import render
from instructalign.evaluate.spec import load_examples
from instructalign.evaluate.tasks import load_task

TEMPLATE = "{text}\nWhat would be the sentiment of the text above? positive, neutral, or negative?"
LABELS = ["negative", "neutral", "positive"]
TASK_YAML = f"""name: nusax_bench
kind: classification
languages: [ace, ban, bbc, bjn, bug, eng, ind, jav, mad, min, nij, sun]
data:
  path: "sentiment/{{dir}}/{{split}}.csv"
  split: test
  dirs: {{ace: acehnese, ban: balinese, bbc: toba_batak, bjn: banjarese, bug: buginese, eng: english,
         ind: indonesian, jav: javanese, mad: madurese, min: minangkabau, nij: ngaju, sun: sundanese}}
labels: [negative, neutral, positive]
verbalizers:
  en: {{negative: negative, neutral: neutral, positive: positive}}
templates:
  en: {json.dumps([TEMPLATE])}
"""


@torch.inference_mode()
def original_approach(model_dir: str, prompts: list[str], batch: int) -> list[str]:
    """One forward of prompt + label per label, scoring the whole sequence (prompt included)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    tok.padding_side = "right"
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    preds = []
    for start in range(0, len(prompts), batch):
        chunk = prompts[start : start + batch]
        scores = []
        for label in LABELS:
            enc = tok([p + " " + label for p in chunk], return_tensors="pt", padding=True)
            logits = model(**enc).logits[:, :-1].float()
            lp = torch.log_softmax(logits, -1).gather(2, enc["input_ids"][:, 1:].unsqueeze(-1)).squeeze(-1)
            scores.append((lp * enc["attention_mask"][:, 1:]).sum(1))
        best = torch.stack(scores, 1).argmax(1).tolist()
        preds += [LABELS[i] for i in best]
    return preds


def lm_eval_installed(python: str) -> bool:
    probe = subprocess.run([python, "-c", "import lm_eval, transformers"], capture_output=True)
    if probe.returncode != 0:
        print("lm-evaluation-harness is not installed for", python, "- skipped (pip install 'lm_eval[hf]')")
    return probe.returncode == 0


def run_lm_eval(
    python: str, model_dir: str, rows: list[dict], tmp: Path, batch: int
) -> tuple[list[str], float] | None:
    tmp.mkdir(parents=True, exist_ok=True)
    data = tmp / "rows.jsonl"
    data.write_text(
        "".join(json.dumps({"text": r["text"], "label": LABELS.index(r["label"])}) + "\n" for r in rows),
        "utf-8",
    )
    tasks = tmp / "lm_eval_tasks"
    tasks.mkdir()
    (tasks / "nusax_bench.yaml").write_text(
        "task: nusax_bench_lmeval\ndataset_path: json\ndataset_kwargs:\n  data_files:\n    test: "
        f"{data}\ntest_split: test\noutput_type: multiple_choice\ndoc_to_text: "
        f"{json.dumps(TEMPLATE.replace('{text}', '{{text}}'))}\n"
        f'doc_to_choice: {json.dumps(LABELS)}\ndoc_to_target: label\ntarget_delimiter: " "\n'
        "metric_list:\n  - metric: acc\n",
        "utf-8",
    )
    out = tmp / "lm_eval_out"
    cmd = [
        python,
        "-m",
        "lm_eval",
        "run",
        "--model",
        "hf",
        "--model_args",
        f"pretrained={model_dir},dtype=float32",
        "--tasks",
        "nusax_bench_lmeval",
        "--include_path",
        str(tasks),
        "--batch_size",
        str(batch),
        "--device",
        "cpu",
        "--log_samples",
        "--output_path",
        str(out),
    ]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        print("lm-eval failed:", proc.stderr[-1500:])
        return None
    samples = [json.loads(line) for f in out.rglob("samples_*.jsonl") for line in f.read_text().splitlines()]
    samples.sort(key=lambda s: s["doc_id"])
    preds = [LABELS[max(range(3), key=lambda j: float(s["filtered_resps"][j][0]))] for s in samples]
    return preds, wall


def run_ours(
    model_dir: str, task_file: Path, nusax: Path, limit: int, batch: int, out: Path
) -> tuple[list[str], float]:
    """`instructalign eval` as its own process: wall seconds and its predictions."""
    cmd = [
        sys.executable,
        "-m",
        "instructalign",
        "eval",
        "--model",
        model_dir,
        "--task",
        str(task_file),
        "--data",
        str(nusax),
        "--limit",
        str(limit),
        "--batch-size",
        str(batch),
        "--output",
        str(out),
    ]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"instructalign eval failed: {proc.stderr[-1500:]}")
    preds = [json.loads(line)["pred"] for line in (out / "predictions.jsonl").read_text().splitlines()]
    return preds, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data")
    parser.add_argument("--limit", type=int, default=50, help="examples per language (12 languages)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--d-model", type=int, default=384)
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--lm-eval-python", default=sys.executable)
    parser.add_argument("--skip-original", action="store_true", help="do not time the original approach")
    parser.add_argument("--repeats", type=int, default=1, help="alternating runs of ours and lm-eval")
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    nusax = nusax_path(args.data)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        shape = {"d_model": args.d_model, "n_layer": args.layers, "n_head": max(1, args.d_model // 64)}
        model_dir = tiny_model(nusax, tmp / "model", **shape)
        from transformers import AutoConfig, AutoModelForCausalLM

        params = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(model_dir)).num_parameters()
        task_file = tmp / "nusax_bench.yaml"
        task_file.write_text(TASK_YAML, "utf-8")
        task = load_task(str(task_file))
        rows = [r for lang in task.languages for r in load_examples(task, str(nusax), lang, args.limit)]
        prompts = [render(TEMPLATE, text=r["text"]) for r in rows]

        with_lm_eval = lm_eval_installed(args.lm_eval_python)
        ours_runs, lm_runs = [], []
        for k in range(args.repeats):
            ours_runs.append(
                run_ours(model_dir, task_file, nusax, args.limit, args.batch_size, tmp / f"ours{k}")
            )
            if with_lm_eval:
                lm_runs.append(
                    run_lm_eval(args.lm_eval_python, model_dir, rows, tmp / f"lm{k}", args.batch_size)
                )
        original, original_s = None, None
        if not args.skip_original:
            start = time.perf_counter()
            original = original_approach(model_dir, prompts, args.batch_size)
            original_s = time.perf_counter() - start

    n = len(rows)
    ours, ours_s = ours_runs[0][0], statistics.median(s for _, s in ours_runs)
    print(
        f"\n{n} examples (12 languages x {args.limit}), 3 labels, batch {args.batch_size}, "
        f"{torch.get_num_threads()} threads, model {params / 1e6:.1f}M parameters, {args.repeats} run(s) each"
    )
    print(f"{'':44s}{'examples/s':>12s}{'seconds':>10s}   (median of the runs)")
    print(f"{'instructalign eval (whole process)':44s}{n / ours_s:12.1f}{ours_s:10.1f}")
    if original:
        agree = sum(a == b for a, b in zip(ours, original)) / n
        print(
            f"{'original (forward per label, in-process)':44s}{n / original_s:12.1f}{original_s:10.1f}   "
            f"predictions agree: {100 * agree:.1f}%"
        )
    if lm_runs and all(lm_runs):
        preds, secs = lm_runs[0][0], statistics.median(s for _, s in lm_runs)
        agree_lm = sum(a == b for a, b in zip(ours, preds)) / n
        print(
            f"{'lm-evaluation-harness (whole process)':44s}{n / secs:12.1f}{secs:10.1f}   predictions agree: "
            f"{100 * agree_lm:.1f}%"
        )
        ratios = [lm[1] / o[1] for o, lm in zip(ours_runs, lm_runs)]
        each = ", ".join(
            f"{o[1]:.1f} s vs {lm[1]:.1f} s = {r:.2f}x" for o, lm, r in zip(ours_runs, lm_runs, ratios)
        )
        print(f"ratio vs lm-evaluation-harness, run by run: {each}")
        print(
            f"ratio vs lm-evaluation-harness: median {statistics.median(ratios):.2f}x, lowest "
            f"{min(ratios):.2f}x  (goal >= 3x)"
        )
    if original:
        print(f"ratio vs original approach: {original_s / ours_s:.2f}x")


if __name__ == "__main__":
    main()
