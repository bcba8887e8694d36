"""Target tokens per second: `instructalign train` versus a baseline that mirrors the original InstructAlign
code (HF Trainer, DataCollatorForLanguageModeling, prompt in the loss, pad to longest in random batches).

Same tiny model, same NusaX-built data, same batch size and steps, measured side by side in one run.
    python benchmarks/train_throughput.py [--data ../shared/data/nusax] [--steps 80]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch
from common import nusax_path, tiny_model

from instructalign.config import BuildConfig, TrainConfig
from instructalign.data.build import build
from instructalign.train import train


class CountingLMCollator:
    """DataCollatorForLanguageModeling, counting real, padded and target tokens."""

    def __init__(self, tokenizer):
        from transformers import DataCollatorForLanguageModeling

        self.inner = DataCollatorForLanguageModeling(tokenizer, mlm=False)
        self.real = self.padded = self.target = 0

    def __call__(self, features):
        self.target += sum(f.pop("n_target") for f in features)
        batch = self.inner(features)
        self.real += int(batch["attention_mask"].sum())
        self.padded += batch["attention_mask"].numel()
        return batch


def baseline(model_dir: str, data_file: Path, steps: int, batch: int, max_length: int, out: Path) -> dict:
    import datasets
    from transformers import AutoModelForCausalLM, AutoTokenizer, Trainer, TrainingArguments

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    rows = [json.loads(line) for line in data_file.read_text("utf-8").splitlines()]
    texts = [r["prompt"] + " " + r["target"] + tok.eos_token for r in rows]
    full = tok(texts)["input_ids"]
    n_target = [len(tok(" " + r["target"])["input_ids"]) + 1 for r in rows]
    enc = tok(texts, truncation=True, max_length=max_length)
    survived = [max(0, t - max(0, len(f) - max_length)) for t, f in zip(n_target, full)]
    ds = datasets.Dataset.from_dict(
        {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"], "n_target": survived}
    )
    collator = CountingLMCollator(tok)
    args = TrainingArguments(
        output_dir=str(out),
        per_device_train_batch_size=batch,
        max_steps=steps,
        learning_rate=5e-4,
        train_sampling_strategy="random",
        report_to=[],
        save_strategy="no",
        remove_unused_columns=False,
        use_cpu=True,
        disable_tqdm=True,
        logging_steps=10**6,
        seed=0,
    )
    trainer = Trainer(model=model, args=args, train_dataset=ds, data_collator=collator)
    start = time.perf_counter()
    trainer.train()
    wall = time.perf_counter() - start
    return {
        "target_tokens_per_second": collator.target / wall,
        "padding_share": 1 - collator.real / collator.padded,
        "tokens_per_second": collator.real / wall,
        "wall_seconds": wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data")
    parser.add_argument("--steps", type=int, default=80)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=384)
    args = parser.parse_args()
    nusax = nusax_path(args.data)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model_dir = tiny_model(nusax, tmp / "model")
        build(
            BuildConfig(
                bitext=[str(nusax)],
                pivots=["ind", "eng"],
                targets=["jav", "sun", "min", "bjn", "ban", "ace", "bug"],
                objectives=["mt", "tlm", "xss"],
                max_pairs=800,
                seed=0,
                output=str(tmp / "data"),
            )
        )
        ours_cfg = TrainConfig(
            model=model_dir,
            data=str(tmp / "data"),
            output=str(tmp / "ours"),
            max_steps=args.steps,
            batch_size=args.batch_size,
            max_length=args.max_length,
            lr=5e-4,
            save_steps=10**6,
            logging_steps=10**6,
            seed=0,
        )
        ours = train(ours_cfg)
        base = baseline(
            model_dir,
            tmp / "data" / "train.jsonl",
            args.steps,
            args.batch_size,
            args.max_length,
            tmp / "baseline",
        )
    ratio = ours["target_tokens_per_second"] / base["target_tokens_per_second"]
    print(
        f"\n{args.steps} steps, batch {args.batch_size}, max length {args.max_length}, {torch.get_num_threads()} threads"
    )
    print(f"{'':28s}{'target tok/s':>14s}{'padding':>10s}{'all tok/s':>12s}")
    print(
        f"{'instructalign train':28s}{ours['target_tokens_per_second']:14,.0f}{100 * ours['padding_share']:9.1f}%{ours['tokens_per_second']:12,.0f}"
    )
    print(
        f"{'original-style baseline':28s}{base['target_tokens_per_second']:14,.0f}{100 * base['padding_share']:9.1f}%{base['tokens_per_second']:12,.0f}"
    )
    print(f"ratio (ours / baseline, target tokens per second): {ratio:.2f}  (goal >= 1.5 with padding < 10%)")


if __name__ == "__main__":
    main()
