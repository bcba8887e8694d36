"""Target tokens per second, peak memory and loss: `instructalign train` against TRL's `SFTTrainer`.

    pip install -e '.[bench]'      # TRL, pinned to a version that works with the pinned transformers
    python benchmarks/train_throughput.py [--data ../shared/data/nusax] [--steps 10] [--repeats 2]

Same data (a `data build` output, prompt and target apart), same model, same examples per step and the same
examples overall (steps x batch of them, one epoch), same learning rate and steps, alternated in one run,
each arm in its own process (its peak memory is its own):

- `ours`: `instructalign train` (the LM head over target positions only, in chunks);
- `ours, model's loss`: `instructalign train --no-head-on-targets` (the model's own loss, every position);
- `trl`: TRL `SFTTrainer` with its completion-only loss (its documented mode for this job), given the examples
  pre-tokenized exactly as `instructalign train` encodes them (`input_ids` and `completion_mask`), so both see
  the same tokens; its padding-free mode is documented for FlashAttention only, which a CPU does not have, so
  it is not run here.

Two model shapes built from configs (no download), scaled down in depth and width but with their real
vocabularies: a BLOOM-560m-shaped model (250,880 tokens) and a Qwen2-shaped one (151,936); full fine-tuning
and LoRA (r 16 on the attention projections, the same modules for both trainers). The tokenizer is the
demo's 4k BPE: every token id exists in both vocabularies, and the head still computes every vocabulary
row. Loss after N steps: the mean target-token cross-entropy of 32 held-out examples, computed the same way
for every arm.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHAPES = {  # name: (config class, settings) — the real vocabularies, 2 layers of width 128
    "bloom-250k": ("BloomConfig", {"vocab_size": 250880, "hidden_size": 128, "n_layer": 2, "n_head": 4}),
    "qwen2-152k": (
        "Qwen2Config",
        {
            "vocab_size": 151936,
            "hidden_size": 128,
            "intermediate_size": 352,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "tie_word_embeddings": True,
        },
    ),
}
LORA_TARGETS = {"bloom-250k": ["query_key_value"], "qwen2-152k": ["q_proj", "k_proj", "v_proj", "o_proj"]}
ARMS = ("ours", "ours, model's loss", "trl")
BATCH, MAX_LENGTH, LR, HELD_OUT = 8, 256, 5e-4, 32


# ---------------------------------------------------------------- set-up (parent)


def make_inputs(nusax: Path, work: Path, steps: int) -> dict:
    """The demo's tokenizer, one model folder per shape, and the data: steps x batch training examples and
    HELD_OUT more, from a `data build` of NusaX."""
    import torch
    import transformers

    from instructalign.config import BuildConfig, Recipe
    from instructalign.data.bitext import read_bitext
    from instructalign.data.build import build
    from instructalign.standin import standin_tokenizer

    texts = [t for row in read_bitext(str(nusax), "train") for t in row.texts.values()]
    tokenizer = standin_tokenizer(texts, Recipe())
    models = {}
    for name, (cls, settings) in SHAPES.items():
        config = getattr(transformers, cls)(
            **settings,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
            bos_token_id=tokenizer.eos_token_id,
        )
        torch.manual_seed(0)
        model = transformers.AutoModelForCausalLM.from_config(config)
        models[name] = str(work / name)
        model.save_pretrained(models[name])
        tokenizer.save_pretrained(models[name])
    build(
        BuildConfig(
            bitext=[str(nusax)],
            pivots=["ind", "eng"],
            targets=["jav", "sun", "min", "bjn"],
            objectives=["mt", "tlm", "xss"],
            max_pairs=400,
            seed=0,
            output=str(work / "built"),
        )
    )
    rows = (work / "built" / "train.jsonl").read_text("utf-8").splitlines()
    n = steps * BATCH
    (work / "data").mkdir()
    (work / "data" / "train.jsonl").write_text("\n".join(rows[:n]) + "\n", "utf-8")
    (work / "held_out.jsonl").write_text("\n".join(rows[n : n + HELD_OUT]) + "\n", "utf-8")
    return {"models": models, "data": str(work / "data"), "held_out": str(work / "held_out.jsonl")}


# ---------------------------------------------------------------- one arm (child process)


class StepTimer:
    """Seconds spent inside training steps (from step begin to step end), summed."""

    def __new__(cls):
        from transformers import TrainerCallback

        class Timer(TrainerCallback):
            seconds, steps, started = 0.0, 0, None

            def on_step_begin(self, args, state, control, **kwargs):
                self.started = time.perf_counter()

            def on_step_end(self, args, state, control, **kwargs):
                self.seconds += time.perf_counter() - self.started
                self.steps += 1

        return Timer()


def encoded(rows: list[dict], tokenizer) -> list[tuple[list[int], list[int]]]:
    """(prompt ids, target ids + eos) as `instructalign train` encodes them, the prompt cut from the left."""
    out = []
    for r in rows:
        prompt = tokenizer(r["prompt"])["input_ids"]
        target = tokenizer(r["target"], add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        out.append((prompt[-(MAX_LENGTH - len(target)) :], target))
    return out


def held_out_loss(model, tokenizer, path: str) -> float:
    """Mean cross-entropy of the target tokens of the held-out examples, one example at a time."""
    import torch

    rows = [json.loads(line) for line in Path(path).read_text("utf-8").splitlines()]
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for prompt, target in encoded(rows, tokenizer):
            ids = torch.tensor([prompt + target])
            logits = model(input_ids=ids).logits[0, len(prompt) - 1 : -1]
            total += float(torch.nn.functional.cross_entropy(logits, torch.tensor(target), reduction="sum"))
            count += len(target)
    return total / count


def target_tokens(data: str, tokenizer) -> int:
    rows = [json.loads(line) for line in (Path(data) / "train.jsonl").read_text("utf-8").splitlines()]
    return sum(len(t) for _, t in encoded(rows, tokenizer))


def run_ours(spec: dict, out: Path, timer) -> object:
    from transformers import AutoModelForCausalLM

    from instructalign.config import TrainConfig
    from instructalign.train import train

    cfg = TrainConfig(
        model=spec["model"],
        data=spec["data"],
        output=str(out),
        max_steps=spec["steps"],
        batch_size=BATCH,
        max_length=MAX_LENGTH,
        lr=LR,
        lora=spec["lora"],
        lora_targets=LORA_TARGETS[spec["shape"]] if spec["lora"] else None,
        merge_lora=True,
        head_on_targets=spec["arm"] == "ours",
        save_steps=10**6,
        logging_steps=10**6,
        precision="fp32",
        seed=0,
    )
    train(cfg, callbacks=(timer,))
    return AutoModelForCausalLM.from_pretrained(out / "final")


def run_trl(spec: dict, out: Path, timer) -> object:
    import datasets
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    tokenizer = AutoTokenizer.from_pretrained(spec["model"])
    rows = [json.loads(line) for line in (Path(spec["data"]) / "train.jsonl").read_text("utf-8").splitlines()]
    # pre-tokenized exactly as `instructalign train` encodes them: the same tokens, the same loss positions
    dataset = datasets.Dataset.from_list(
        [
            {"input_ids": p + t, "completion_mask": [0] * len(p) + [1] * len(t)}
            for p, t in encoded(rows, tokenizer)
        ]
    )
    peft_config = None
    if spec["lora"]:
        from peft import LoraConfig

        peft_config = LoraConfig(
            r=16,
            lora_alpha=32,
            lora_dropout=0.05,
            target_modules=LORA_TARGETS[spec["shape"]],
            task_type="CAUSAL_LM",
        )
    args = SFTConfig(
        output_dir=str(out),
        per_device_train_batch_size=BATCH,
        max_steps=spec["steps"],
        learning_rate=LR,
        max_length=MAX_LENGTH,
        completion_only_loss=True,
        report_to=[],
        save_strategy="no",
        logging_steps=10**6,
        use_cpu=True,
        seed=0,
        disable_tqdm=True,
    )
    trainer = SFTTrainer(
        model=AutoModelForCausalLM.from_pretrained(spec["model"]),
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=[timer],
    )
    trainer.train()
    model = trainer.model
    return model.merge_and_unload() if spec["lora"] else model


def run_arm(spec: dict) -> dict:
    import torch
    from transformers import AutoTokenizer

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(spec["model"])
    timer = StepTimer()
    with tempfile.TemporaryDirectory() as tmp:
        runner = run_trl if spec["arm"] == "trl" else run_ours
        model = runner(spec, Path(tmp) / "out", timer)
        loss = held_out_loss(model, tokenizer, spec["held_out"])
    tokens = target_tokens(spec["data"], tokenizer)
    return {
        "target_tokens_per_second": tokens / timer.seconds,
        "step_seconds": timer.seconds / max(timer.steps, 1),
        "steps": timer.steps,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # Linux: KiB
        "held_out_loss": loss,
    }


# ---------------------------------------------------------------- the comparison (parent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=2, help="rounds of every arm, alternated")
    parser.add_argument("--arm", help=argparse.SUPPRESS)  # a child: the JSON spec of one arm
    args = parser.parse_args()
    if args.arm:
        print("RESULT " + json.dumps(run_arm(json.loads(args.arm))))
        return
    from common import nusax_path

    results: dict[tuple, list[dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        inputs = make_inputs(nusax_path(args.data), Path(tmp), args.steps)
        for _ in range(args.repeats):
            for shape in SHAPES:
                for lora in (False, True):
                    for arm in ARMS:
                        spec = {
                            "arm": arm,
                            "shape": shape,
                            "lora": lora,
                            "model": inputs["models"][shape],
                            "data": inputs["data"],
                            "held_out": inputs["held_out"],
                            "steps": args.steps,
                        }
                        proc = subprocess.run(
                            [sys.executable, __file__, "--arm", json.dumps(spec)],
                            capture_output=True,
                            text=True,
                        )
                        line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
                        if line is None:
                            sys.exit(f"{arm} {shape} lora={lora} failed:\n{proc.stderr[-3000:]}")
                        result = json.loads(line[7:])
                        results.setdefault((shape, lora, arm), []).append(result)
                        print(json.dumps({"shape": shape, "lora": lora, "arm": arm} | result), flush=True)
    report(results, args)


def report(results: dict, args) -> None:
    import torch

    print(
        f"\n{args.steps} steps x batch {BATCH}, max length {MAX_LENGTH}, lr {LR:g}, {args.repeats} "
        f"alternated round(s), {torch.get_num_threads()} threads; best round per arm for speed and memory"
    )
    print(
        "| model | training | trainer | target tokens/s | peak MB | held-out loss | speed vs TRL | memory "
        "vs TRL |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for shape in SHAPES:
        for lora in (False, True):
            trl_rows = results[(shape, lora, "trl")]
            trl_speed = max(r["target_tokens_per_second"] for r in trl_rows)
            trl_mb = min(r["peak_mb"] for r in trl_rows)
            for arm in ARMS:
                rows = results[(shape, lora, arm)]
                speed, mb = max(r["target_tokens_per_second"] for r in rows), min(r["peak_mb"] for r in rows)
                print(
                    f"| {shape} | {'LoRA' if lora else 'full'} | {arm} | {speed:,.0f} | {mb:,.0f} | "
                    f"{rows[0]['held_out_loss']:.3f} | {speed / trl_speed:.2f}x | {mb / trl_mb:.2f}x |"
                )


if __name__ == "__main__":
    main()
