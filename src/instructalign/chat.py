"""Chat templates: a model meets text in its own format — train, eval, the monitor, `data preview`.

`--chat-template auto` (the default) uses the tokenizer's template when it has one, `none` today's raw text
(BLOOMZ, mT0, base models), `PATH` a Jinja file for a model without one. Under a template:

- a training row is a conversation — [user: prompt, assistant: target] (after an optional system turn), or
  the turns a replay row holds — and its token ids are exactly those of `apply_chat_template` over the whole
  conversation; the loss covers each assistant turn, its content and its end-of-turn token, and nothing else
  (the turn's span is found by rendering the conversation up to it with and without the answer; a template
  whose rendering of a prefix is not a prefix of the whole is refused rather than mis-masked);
- a prompt is scored as the assistant's answer after the rendered prompt (`add_generation_prompt=True`), each
  label word right after it, as lm-evaluation-harness's `--apply_chat_template` scores it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .errors import UserError
from .files import read_json

ROLES = ("system", "user", "assistant")


@dataclass(frozen=True)
class ChatFormat:
    """The template a model meets text in (None: raw text) and where it came from, with a system prompt."""

    template: str | None
    source: str  # "none", "the tokenizer's", or the Jinja file's path
    system: str | None = None

    @property
    def raw(self) -> bool:
        return self.template is None

    def record(self) -> dict:
        """What results.json and train_summary.json keep of it."""
        return {"chat_template": self.source, "system": self.system}


def check_setting(setting: str) -> None:
    """auto, none, or a readable Jinja file; refused in one line before anything loads."""
    if setting not in ("auto", "none") and not Path(setting).is_file():
        raise UserError(f"--chat-template {setting}: give auto, none, or a Jinja template file; no such file")


def chat_format(
    tokenizer, setting: str, seq2seq: bool, system: str | None = None, trained: str | None = None
):
    """The format for this tokenizer: `setting` (auto/none/PATH); `trained` is what a model trained here was
    trained with (its train config), which `auto` follows."""
    check_setting(setting)
    if setting == "auto" and trained == "none":
        setting = "none"
    if setting == "none" or seq2seq and setting == "auto":
        if system:
            raise UserError("--system needs a chat template: the raw format has no system turn")
        return ChatFormat(None, "none")
    if seq2seq:
        raise UserError(
            f"--chat-template {setting}: an encoder-decoder model (mT0, T5) takes raw text; drop "
            "--chat-template"
        )
    if setting == "auto":
        template = getattr(tokenizer, "chat_template", None)
        if not template:
            if system:
                raise UserError("--system: this tokenizer has no chat template; give --chat-template PATH")
            return ChatFormat(None, "none")
        return ChatFormat(
            template if isinstance(template, str) else template["default"], "the tokenizer's", system
        )
    return ChatFormat(Path(setting).read_text("utf-8"), setting, system)


def trained_setting(model: str) -> str | None:
    """The --chat-template a model this project trained was trained with (its saved settings), or None."""
    settings = read_json(Path(model) / "instructalign_train_config.json", default=None)
    return settings.get("chat_template") if isinstance(settings, dict) else None


def conversation(prompt: str, target: str | None, system: str | None) -> list[dict]:
    """[system?, user: prompt, assistant: target?] as chat messages."""
    turns = [{"role": "system", "content": system}] if system else []
    turns.append({"role": "user", "content": prompt})
    if target is not None:
        turns.append({"role": "assistant", "content": target})
    return turns


def render(tokenizer, fmt: ChatFormat, messages: list[dict], generation_prompt: bool = False) -> str:
    """The conversation as the template writes it; a template that fails on it is one line."""
    try:
        return tokenizer.apply_chat_template(
            messages, chat_template=fmt.template, tokenize=False, add_generation_prompt=generation_prompt
        )
    except Exception as exc:  # jinja raises TemplateError (raise_exception in templates) and others
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"chat template ({fmt.source}): cannot render this conversation ({first})") from None


def prompt_text(tokenizer, fmt: ChatFormat, prompt: str) -> str:
    """An evaluation prompt as the assistant's turn would follow it."""
    return render(tokenizer, fmt, conversation(prompt, None, fmt.system), generation_prompt=True)


def assistant_spans(tokenizer, fmt: ChatFormat, messages: list[dict]) -> tuple[str, list[tuple[int, int]]]:
    """The rendered conversation and the character span of each assistant turn (its content and end-of-turn
    token; whitespace the template writes after that token is not part of it)."""
    text = render(tokenizer, fmt, messages)
    spans = []
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        before = render(tokenizer, fmt, messages[:i], generation_prompt=True)
        upto = render(tokenizer, fmt, messages[: i + 1])
        if not upto.startswith(before) or not text.startswith(upto):
            raise UserError(
                f"chat template ({fmt.source}): its rendering of a conversation's beginning is not the "
                "beginning of the whole (it writes a system prompt, a date or a turn differently); the "
                "assistant turns cannot be found exactly: give --chat-template PATH with a template that "
                "renders prefixes as prefixes, or --chat-template none"
            )
        spans.append((len(before), len(upto.rstrip())))
    return text, spans


def encode(tokenizer, fmt: ChatFormat, messages: list[dict], loss_on_prompt: bool, stats: Counter):
    """(input ids, labels) of a conversation: ids exactly as `apply_chat_template` gives them, labels on the
    assistant turns' tokens (every token with `loss_on_prompt`), -100 elsewhere."""
    text, spans = assistant_spans(tokenizer, fmt, messages)
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids, labels = enc["input_ids"], []
    for token, (start, end) in zip(ids, enc["offset_mapping"]):
        inside = any(a <= start and end <= b for a, b in spans)
        straddles = not inside and any(start < a < end or start < b < end for a, b in spans)
        stats["boundary_tokens"] += straddles  # a token holding text of both sides of a turn's edge
        labels.append(token if inside or loss_on_prompt else -100)
    return ids, labels


def messages_of(row: dict, where: str) -> list[dict]:
    """A row's chat messages, checked: roles system (first only), user and assistant alternating, ending with
    an assistant turn; every content a non-empty string."""
    messages = row["messages"]
    if not isinstance(messages, list) or not messages:
        raise UserError(f"{where}: 'messages' must be a list of {{role, content}} turns")
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ROLES or not isinstance(m.get("content"), str):
            raise UserError(
                f"{where}: turn {i + 1} needs a role (system, user, assistant) and a string content"
            )
    turns = [m["role"] for m in messages if m["role"] != "system"]
    if any(m["role"] == "system" for m in messages[1:]) or not turns or turns[-1] != "assistant":
        raise UserError(
            f"{where}: a conversation is [system?], user, assistant, ... ending with an assistant turn"
        )
    if any(a == b for a, b in zip(turns, turns[1:])) or turns[0] != "user":
        raise UserError(f"{where}: user and assistant turns must alternate, starting with the user")
    return [{"role": m["role"], "content": m["content"]} for m in messages]


def single_turn(messages: list[dict], where: str) -> tuple[str, str]:
    """(prompt, target) of a one-exchange conversation, for the raw format (a system turn leads the
    prompt)."""
    system = [m["content"] for m in messages if m["role"] == "system"]
    rest = [m for m in messages if m["role"] != "system"]
    if len(rest) != 2:
        raise UserError(
            f"{where}: a conversation of {len(rest) // 2} exchanges needs a chat template to train on "
            "(--chat-template auto on a chat model, or PATH); the raw format takes one prompt and one answer"
        )
    prompt = "\n\n".join([*system, rest[0]["content"]])
    return prompt, rest[1]["content"]
