"""`instructalign merge`: exact interpolation of two tiny models, and an adapter merge against peft."""

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import tiny
from instructalign.cli import main


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("merge")
    base = tiny.save(tiny.gpt2(seed=0), tmp / "base")
    tuned = tiny.save(tiny.gpt2(seed=1), tmp / "tuned")  # same architecture, other weights
    return tmp, base, tuned


def merged(tmp, base, tuned, alpha):
    out = tmp / f"a{alpha}-{Path(tuned).name}"
    assert main(["merge", "--base", base, "--tuned", tuned, "--alpha", str(alpha), "--output", str(out)]) == 0
    return load_file(str(out / "model.safetensors")), out


@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0])
def test_full_interpolation_is_exact(pair, alpha):
    tmp, base, tuned = pair
    got, out = merged(tmp, base, tuned, alpha)
    b, t = load_file(f"{base}/model.safetensors"), load_file(f"{tuned}/model.safetensors")
    for name in b:
        expected = b[name] if alpha == 0 else t[name] if alpha == 1 else (b[name] + t[name]) / 2
        assert (
            torch.equal(got[name], expected)
            if alpha in (0, 1)
            else torch.allclose(got[name], expected, atol=1e-7)
        ), name
    card = (out / "README.md").read_text()
    assert f"α = {alpha}" in card and base in card and tuned in card
    assert json.loads((out / "instructalign_merge.json").read_text())["alpha"] == alpha


def test_adapter_merge_matches_peft_at_one_and_halves_the_update(pair):
    from peft import LoraConfig, get_peft_model

    from instructalign.models import load_model

    tmp, base, _ = pair
    torch.manual_seed(3)
    lora = get_peft_model(
        load_model(base)[0], LoraConfig(r=4, lora_alpha=8, init_lora_weights=False, target_modules=["c_attn"])
    )
    lora.save_pretrained(tmp / "adapter")
    tiny.tokenizer().save_pretrained(tmp / "adapter")
    reference = {k: v.detach().clone() for k, v in lora.merge_and_unload().state_dict().items()}
    full, _ = merged(tmp, base, str(tmp / "adapter"), 1.0)
    half, _ = merged(tmp, base, str(tmp / "adapter"), 0.5)
    b = load_file(f"{base}/model.safetensors")
    changed = [k for k in b if not torch.equal(reference[k], b[k])]
    assert changed
    for k in changed:
        assert torch.allclose(full[k], reference[k], atol=1e-6), k
        assert torch.allclose(half[k], (b[k] + reference[k]) / 2, atol=1e-5), k


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--alpha", "1.5"], "--alpha 1.5: must be in [0, 1]"),
        (["--tuned", "/nonexistent"], "no model here"),
    ],
)
def test_merge_mistakes_are_one_line(pair, tmp_path, capsys, args, expected):
    _, base, tuned = pair
    argv = ["merge", "--base", base, "--tuned", tuned, "--output", str(tmp_path / "o"), *args]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and expected in err and not (tmp_path / "o").exists()


def test_other_architectures_are_refused(pair, tmp_path, capsys):
    tmp, base, _ = pair
    other = tiny.save(tiny.bloom(), tmp_path / "bloom")
    assert main(["merge", "--base", base, "--tuned", other, "--output", str(tmp_path / "o")]) == 2
    assert "cannot be merged" in capsys.readouterr().err
