"""Training speed on a GPU: the real BLOOMZ-560m shape in bf16, full vs LoRA, head on targets vs not.

    PYTHONPATH=src python benchmarks/gpu_train.py                 # on a CUDA machine (H100/H200: ~3 min)
    python benchmarks/gpu_train.py --device cpu --tiny            # a toy size: what the test suite runs

The model is built from BLOOMZ-560m's configuration (24 layers, width 1,024, 16 heads, vocabulary 250,880;
random weights, no download) and trained by `AlignTrainer` — the trainer `instructalign train` uses — on
synthetic alignment-shaped examples: every example `--seq` tokens long, the last `--target-share` of them
the target (the rest is prompt, labels -100), so every step holds the same number of tokens and of target
tokens. Four arms, each in its own process (its peak memory is its own), alternated over `--repeats` rounds:
full fine-tuning and LoRA (r 16 on `query_key_value`), each with the LM head on target positions only
(`--head-on-targets`, chunked) and with the model's own loss (`--no-head-on-targets`).

Printed per arm: tokens/s (all positions), target tokens/s, seconds per step, peak GPU memory, and the model
FLOPs utilisation (MFU): the FLOPs the arm's computation needs per step — 2 x parameters x tokens forward
for the body, 2 x width x vocabulary per position that goes through the head, attention's 4 x layers x
width x positions² per sequence; the backward pass twice the forward where weights train, once where they
are frozen (LoRA: only activation gradients; the adapters' own FLOPs are ignored); recomputation not
counted — divided by the time and the chip's peak dense bf16 rate (H100/H200 SXM 989 TFLOP/s, A100 312;
else `--peak-tflops`). With the head on targets the FLOPs needed are fewer, so tokens/s is the figure to
compare between arms; MFU says how well each arm uses the chip.

Runs from `PYTHONPATH=src` with torch, transformers, accelerate and peft alone (no `datasets`).
BLOOM's attention (ALiBi) has no SDPA or FlashAttention path in transformers, so the eager one runs; the
script asks for `sdpa` first and prints what the model got. Padding-free batches are not measured:
`instructalign train` has no such mode (every example here has the same length, so there is no padding).
"""

from __future__ import annotations

import argparse
import inspect
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BLOOMZ_560M = {"vocab_size": 250880, "hidden_size": 1024, "n_layer": 24, "n_head": 16}
TINY = {"vocab_size": 2048, "hidden_size": 64, "n_layer": 2, "n_head": 4}
ARMS = [(lora, head) for lora in (False, True) for head in (True, False)]
PEAK_TFLOPS = {"H200": 989.4, "H100": 989.4, "A100": 312.0, "L40S": 362.0, "A10G": 125.0}


def arm_name(lora: bool, head: bool) -> str:
    return f"{'LoRA' if lora else 'full'}, {'head on targets' if head else 'model loss'}"


# ---------------------------------------------------------------- one arm (child process)


def examples(n: int, seq: int, target_share: float, vocab: int, seed: int) -> list[dict]:
    """`n` examples of `seq` random token ids each; the last `target_share` of them are the target."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    n_target = max(1, round(seq * target_share))
    ids = torch.randint(3, vocab, (n, seq), generator=generator).tolist()
    return [
        {"input_ids": row, "labels": [-100] * (seq - n_target) + row[-n_target:], "n_target": n_target}
        for row in ids
    ]


def build_model(spec: dict):
    import torch
    from transformers import BloomConfig, BloomForCausalLM

    config = BloomConfig(
        **(TINY if spec["tiny"] else BLOOMZ_560M),
        pad_token_id=3,
        bos_token_id=1,
        eos_token_id=2,
        use_cache=False,
    )
    torch.manual_seed(0)
    try:
        model = BloomForCausalLM._from_config(config, attn_implementation="sdpa")
    except (ValueError, ImportError):  # no SDPA path for this architecture
        model = BloomForCausalLM._from_config(config, attn_implementation="eager")
    if spec["lora"]:
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(
            model,
            LoraConfig(
                r=16,
                lora_alpha=32,
                lora_dropout=0.0,
                target_modules=["query_key_value"],
                task_type="CAUSAL_LM",
            ),
        )
    return model


def training_arguments(spec: dict, out: str):
    """The arguments `instructalign train` would pass for this arm, filtered to what this transformers has."""
    from transformers import TrainingArguments

    cuda = spec["device"] == "cuda"
    wanted = dict(
        output_dir=out,
        per_device_train_batch_size=spec["batch"],
        max_steps=spec["warmup"] + spec["steps"],
        learning_rate=1e-4,
        lr_scheduler_type="constant",
        save_strategy="no",
        logging_steps=10**6,
        report_to=[],
        disable_tqdm=True,
        remove_unused_columns=False,
        seed=0,
        bf16=cuda,
        use_cpu=not cuda,
        dataloader_pin_memory=cuda,
    )
    known = inspect.signature(TrainingArguments).parameters
    return TrainingArguments(**{k: v for k, v in wanted.items() if k in known})


def step_timer(warmup: int):
    """A callback that sums the seconds of the steps after the first `warmup` (synchronised on CUDA)."""
    import torch
    from transformers import TrainerCallback

    def sync():
        if torch.cuda.is_available():
            torch.cuda.synchronize()

    class Timer(TrainerCallback):
        seconds, steps, started = 0.0, 0, None

        def on_step_begin(self, args, state, control, **kwargs):
            sync()
            self.started = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            sync()
            if state.global_step > warmup:
                self.seconds += time.perf_counter() - self.started
                self.steps += 1

    return Timer()


def step_flops(spec: dict, shape: dict, parameters: int) -> float:
    """The FLOPs one step's computation needs (see the module's docstring)."""
    tokens = spec["batch"] * spec["seq"]
    targets = spec["batch"] * max(1, round(spec["seq"] * spec["target_share"]))
    width, vocab, layers = shape["hidden_size"], shape["vocab_size"], shape["n_layer"]
    body = parameters - vocab * width  # the embedding's lookup does no matrix product
    head_positions = targets if spec["head"] else tokens
    forward = 2 * body * tokens + 4 * layers * width * spec["seq"] ** 2 * spec["batch"]
    forward_head = 2 * width * vocab * head_positions
    backward = 1 if spec["lora"] else 2  # frozen weights: activation gradients only
    return forward * (1 + backward) + forward_head * (1 + backward)


def target_tokens(spec: dict) -> int:
    return max(1, round(spec["seq"] * spec["target_share"]))


def peak_mb(cuda: bool) -> float:
    import torch

    if cuda:
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_arm(spec: dict) -> dict:
    import torch

    from instructalign.train.data import PaddingCollator
    from instructalign.train.trainer import AlignTrainer

    model = build_model(spec)
    shape = TINY if spec["tiny"] else BLOOMZ_560M
    parameters = sum(p.numel() for p in model.parameters())
    data = examples(
        spec["batch"] * (spec["warmup"] + spec["steps"]),
        spec["seq"],
        spec["target_share"],
        shape["vocab_size"],
        seed=0,
    )
    timer = step_timer(spec["warmup"])
    with tempfile.TemporaryDirectory() as out:
        trainer = AlignTrainer(
            model=model,
            args=training_arguments(spec, out),
            train_dataset=data,
            data_collator=PaddingCollator(pad_id=3, seq2seq=False),
            head_on_targets=spec["head"],
            callbacks=[timer],
        )
        if spec["device"] == "cuda":
            torch.cuda.reset_peak_memory_stats()
        result = trainer.train()
        on_targets = trainer.target_positions_only(trainer.model_wrapped)
        path = "head on targets" if on_targets else "model's own loss"
    seconds = timer.seconds / max(timer.steps, 1)
    cuda = spec["device"] == "cuda"
    return {
        "loss_path": path,
        "attention": getattr(getattr(model, "config", None), "_attn_implementation", "?"),
        "step_seconds": seconds,
        "tokens_per_second": spec["batch"] * spec["seq"] / seconds,
        "target_tokens_per_second": spec["batch"] * target_tokens(spec) / seconds,
        "achieved_tflops": step_flops(spec, shape, parameters) / seconds / 1e12,
        "peak_mb": peak_mb(cuda),
        "train_loss": result.training_loss,
        "device_name": torch.cuda.get_device_name() if cuda else "cpu",
    }


# ---------------------------------------------------------------- the comparison (parent)


def peak_tflops(device_name: str, given: float | None) -> float | None:
    return given or next((v for k, v in PEAK_TFLOPS.items() if k in device_name), None)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    parser.add_argument("--tiny", action="store_true", help="a toy model (2 layers, width 64, 2k vocabulary)")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seq", type=int, default=512)
    parser.add_argument("--target-share", type=float, default=0.2, help="target share of each example")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per arm")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    parser.add_argument("--repeats", type=int, default=1, help="rounds of every arm, alternated")
    parser.add_argument("--peak-tflops", type=float, help="the chip's peak dense bf16 TFLOP/s, for MFU")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--arm", help=argparse.SUPPRESS)  # a child: the JSON spec of one arm
    args = parser.parse_args(argv)
    if args.arm:
        print("RESULT " + json.dumps(run_arm(json.loads(args.arm))), flush=True)
        return {}
    if args.device == "cuda":
        import torch

        if not torch.cuda.is_available():
            sys.exit("gpu_train.py: no CUDA device here; run with --device cpu --tiny for a toy check")
    results: dict[str, list[dict]] = {}
    for _ in range(args.repeats):
        for lora, head in ARMS:
            spec = {
                "lora": lora,
                "head": head,
                "device": args.device,
                "tiny": args.tiny,
                "batch": args.batch,
                "seq": args.seq,
                "target_share": args.target_share,
                "steps": args.steps,
                "warmup": args.warmup,
            }
            env = {"PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
            proc = subprocess.run(
                [sys.executable, __file__, "--arm", json.dumps(spec)],
                capture_output=True,
                text=True,
                env={**__import__("os").environ, **env},
            )
            line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
            if line is None:
                sys.exit(f"{arm_name(lora, head)} failed:\n{proc.stderr[-3000:]}")
            results.setdefault(arm_name(lora, head), []).append(json.loads(line[7:]))
    summary = report(results, args)
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=1))
    return summary


def report(results: dict[str, list[dict]], args) -> dict:
    """The best round of each arm, as a table with MFU and the head-on-targets ratios."""
    best = {name: max(rows, key=lambda r: r["tokens_per_second"]) for name, rows in results.items()}
    first = next(iter(best.values()))
    peak = peak_tflops(first["device_name"], args.peak_tflops)
    print(
        f"\n{first['device_name']}, {'tiny' if args.tiny else 'BLOOMZ-560m'} shape, attention "
        f"{first['attention']}, batch {args.batch} x {args.seq} tokens ({args.target_share:.0%} target), "
        f"{args.steps} timed steps after {args.warmup}, best of {args.repeats} round(s)"
    )
    print("| arm | loss path | tokens/s | target tokens/s | s/step | peak MB | TFLOP/s | MFU | loss |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, r in best.items():
        mfu = f"{r['achieved_tflops'] / peak:.1%}" if peak else "n/a"
        print(
            f"| {name} | {r['loss_path']} | {r['tokens_per_second']:,.0f} | "
            f"{r['target_tokens_per_second']:,.0f} | {r['step_seconds']:.3f} | {r['peak_mb']:,.0f} | "
            f"{r['achieved_tflops']:.1f} | {mfu} | {r['train_loss']:.3f} |"
        )
    ratios = {}
    for training in ("full", "LoRA"):
        on, off = best[f"{training}, head on targets"], best[f"{training}, model loss"]
        ratios[training] = {
            "speed": on["tokens_per_second"] / off["tokens_per_second"],
            "memory": on["peak_mb"] / off["peak_mb"],
        }
        print(
            f"{training}: head on targets {ratios[training]['speed']:.2f}x the tokens/s of the model's own "
            f"loss, at {ratios[training]['memory']:.2f}x its peak memory"
        )
    return {"arms": best, "ratios": ratios, "peak_tflops": peak}


if __name__ == "__main__":
    main()
