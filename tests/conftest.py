import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


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


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


WIDE_CSV = (
    "id,indonesian,javanese,sundanese\n0,Saya suka makan nasi goreng di pagi hari.,Aku seneng mangan sega "
    "goreng ing wayah esuk.,Abdi resep tuang sangu goreng isuk-isuk.\n1,Hotel itu sangat bersih dan "
    "nyaman.,Hotel iku resik banget lan kepenak.,Hotel eta beresih pisan jeung merenah.\n2,Pelayanannya "
    "lambat sekali hari ini.,Pelayanane alon banget dina iki.,Palayananana lambat pisan poe ieu.\n3,Harga "
    "tiketnya murah dan terjangkau.,Regane tiket murah lan kejangkau.,Harga tiketna murah jeung kajangkau.\n"
)


def pytest_configure(config):
    """Quiet library progress bars so that tests can read the CLI's own stderr line."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
