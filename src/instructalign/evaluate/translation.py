"""Translation tasks: greedy generation per direction and template, scored with chrF++ and BLEU."""

from __future__ import annotations

import torch
from tqdm.auto import tqdm

from ..chat import ChatFormat, prompt_text
from ..data.prompts import render
from ..languages import LANGUAGES
from .classification import batches
from .metrics import translation_metrics
from .scoring import context_limit, model_device, pad, pad_id


@torch.inference_mode()
def generate(
    model,
    tokenizer,
    seq2seq: bool,
    prompts: list[str],
    max_new_tokens: int,
    max_length: int,
    chat: bool = False,
) -> list[str]:
    device = model_device(model)
    keep = context_limit(model, max_length) - (0 if seq2seq else max_new_tokens)
    ids = [tokenizer(p, add_special_tokens=not chat)["input_ids"][-keep:] for p in prompts]
    input_ids, mask = pad(ids, pad_id(tokenizer), left=not seq2seq, device=device)
    out = model.generate(
        input_ids=input_ids,
        attention_mask=mask,
        max_new_tokens=max_new_tokens,
        do_sample=False,
        num_beams=1,
        pad_token_id=pad_id(tokenizer),
        eos_token_id=tokenizer.eos_token_id,
    )
    new = out if seq2seq else out[:, input_ids.shape[1] :]
    texts = tokenizer.batch_decode(new, skip_special_tokens=True)
    return [t.strip().split("\n")[0].strip() for t in texts]


def evaluate_translation(
    model, tokenizer, seq2seq, task, rows, prompt_langs, cfg, fmt: ChatFormat | None = None
) -> tuple[dict, list[dict]]:
    """Greedy translations of every row, direction and template (each prompt the user's turn under a chat
    template), scored with chrF++ and BLEU."""
    chat = fmt is not None and not fmt.raw
    templates = task.template_ids(prompt_langs, cfg.templates)
    results, predictions = {}, []
    with tqdm(
        total=len(rows) * len(templates) * len(task.directions), desc=f"eval {task.name}", unit="ex"
    ) as bar:
        for src, tgt in task.directions:
            per_template = {}
            for tid, pl, template in templates:
                names = {"src_lang": LANGUAGES[src].name(pl), "tgt_lang": LANGUAGES[tgt].name(pl)}
                prompts = [render(template, src=r[src], **names) for r in rows]
                if chat:
                    prompts = [prompt_text(tokenizer, fmt, p) for p in prompts]
                hyps = []
                for batch in batches(list(range(len(prompts))), cfg.batch_size):
                    hyps += generate(
                        model,
                        tokenizer,
                        seq2seq,
                        [prompts[i] for i in batch],
                        task.max_new_tokens,
                        cfg.max_length,
                        chat,
                    )
                    bar.update(len(batch))
                refs = [r[tgt] for r in rows]
                per_template[tid] = translation_metrics(hyps, refs)
                predictions += [
                    {
                        "direction": f"{src}-{tgt}",
                        "template": tid,
                        "prompt": p,
                        "hypothesis": h,
                        "reference": r,
                    }
                    for p, h, r in zip(prompts, hyps, refs)
                ]
            results[f"{src}-{tgt}"] = {
                "chrf": sum(m["chrf"] for m in per_template.values()) / len(per_template),
                "bleu": sum(m["bleu"] for m in per_template.values()) / len(per_template),
                "n": len(rows),
                "templates": per_template,
            }
    return results, predictions
