import os
from pathlib import Path

import pytest

from helpers import REPO


@pytest.fixture(scope="session")
def nusax() -> Path:
    """The NusaX folder beside the repository (or $INSTRUCTALIGN_NUSAX)."""
    path = Path(os.environ.get("INSTRUCTALIGN_NUSAX", REPO.parent / "shared" / "data" / "nusax"))
    if not (path / "mt" / "train.csv").is_file():
        missing_data(f"NusaX not found at {path}")
    return path


@pytest.fixture(scope="session")
def sib200() -> Path:
    """The SIB-200 folder beside the repository."""
    path = REPO.parent / "shared" / "data" / "sib200"
    if not (path / "jav_Latn" / "train.tsv").is_file():
        missing_data(f"SIB-200 not found at {path}")
    return path


def missing_data(message: str) -> None:
    """Skip on a developer's machine without the data; in CI (CI set) a missing dataset is a failure."""
    if os.environ.get("CI"):
        pytest.fail(message + " (CI must run the data-dependent tests)")
    pytest.skip(message)


@pytest.fixture
def fails(capsys):
    """`fails(argv, expected)`: the command exits 2 with one line on stderr, "error: ...", holding `expected`,
    and no traceback (progress bars of work done before the error may stand before that line)."""

    def check(argv: list[str], expected: str) -> str:
        from instructalign.cli import main

        capsys.readouterr()  # drop what earlier commands printed
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err and "error: " in err, err
        err = err[err.index("error: ") :]
        assert err.count("\n") == 1 and expected in err, err
        return err

    return check


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> str:
    """A tiny GPT-2 saved as a model folder (shared: tests only read it)."""
    import tiny

    return tiny.save(tiny.gpt2(), tmp_path_factory.mktemp("m") / "gpt2")


@pytest.fixture
def train_data(tmp_path) -> Path:
    """A built data folder of 12 prompt/target rows."""
    import json

    from helpers import write

    rows = [{"prompt": f"Terjemahkan: kalimat {i}", "target": f"ukara {i}"} for i in range(12)]
    return write(tmp_path / "d" / "train.jsonl", "".join(json.dumps(r) + "\n" for r in rows)).parent


def pytest_configure(config):
    """Quiet library progress bars so that tests can read the CLI's own stderr line."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
