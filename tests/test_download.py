"""`instructalign data download`: the files land where the loaders and the demo look for them; a failed
download leaves nothing behind. The repositories are mirrored here as local folders read through file:// URLs.
"""

import shutil
from dataclasses import replace

import pytest

from instructalign.cli import main
from instructalign.data import download as dl


def mirror(tmp_path, source, files):
    """A local copy of `files` from `source`, served as the dataset's base URL."""
    root = tmp_path / "mirror"
    for rel in files:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source / rel, root / rel)
    return root.as_uri()


def test_sib200_download_is_the_layout_the_demo_finds_in_the_cache(sib200, nusax, tmp_path, monkeypatch):
    from instructalign.config import DemoConfig
    from instructalign.evaluate.spec import load_examples
    from instructalign.evaluate.tasks import load_task
    from instructalign.experiment.sources import sib200_folder

    url = mirror(tmp_path, sib200, dl.sib200_files())
    monkeypatch.setitem(dl.SOURCES, "sib200", replace(dl.SOURCES["sib200"], base_url=url))
    monkeypatch.setenv("INSTRUCTALIGN_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("INSTRUCTALIGN_SIB200", raising=False)
    assert main(["data", "download", "sib200"]) == 0
    got = tmp_path / "cache" / "sib200"
    assert len(list(got.glob("*_Latn/*.tsv"))) == 24 * 3
    task = load_task("sib200")
    assert load_examples(task, str(got), "bug") == load_examples(task, str(sib200), "bug")
    # NusaX elsewhere, no SIB-200 beside it: the demo finds the downloaded one in the cache
    lone = tmp_path / "data" / "nusax"
    shutil.copytree(nusax / "mt", lone / "mt")
    assert sib200_folder(DemoConfig(), lone) == got


def test_the_sib200_download_fetches_the_folders_the_sib200_task_reads():
    from instructalign.evaluate.tasks import load_task

    assert dl.SIB200_FOLDERS == list(load_task("sib200").data["dirs"].values())


def test_nusax_download_and_a_failed_one_leaves_nothing(nusax, tmp_path, monkeypatch, capsys):
    url = mirror(tmp_path, nusax, dl.nusax_files())
    target = tmp_path / "got"
    assert dl.download("nusax", target, url) == target
    assert (target / "mt" / "train.csv").read_text() == (nusax / "mt" / "train.csv").read_text()
    assert (target / "sentiment" / "buginese" / "test.csv").is_file() and (target / "SOURCE.md").is_file()
    (tmp_path / "mirror" / "mt" / "valid.csv").unlink()  # a file the server does not have
    monkeypatch.setitem(dl.SOURCES, "nusax", replace(dl.SOURCES["nusax"], base_url=url))
    broken = tmp_path / "broken"
    assert main(["data", "download", "nusax", "--to", str(broken)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "could not download NusaX file mt/valid.csv" in err[0]
    assert not broken.exists() and not list(tmp_path.glob(".broken*"))


def test_the_demo_says_how_to_get_sib200_when_it_is_nowhere(nusax, tmp_path, monkeypatch):
    from instructalign.config import DemoConfig
    from instructalign.errors import UserError
    from instructalign.experiment.sources import sib200_folder

    monkeypatch.setenv("INSTRUCTALIGN_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("INSTRUCTALIGN_SIB200", raising=False)
    lone = tmp_path / "data" / "nusax"
    with pytest.raises(UserError, match="SIB-200 not found.*instructalign data download sib200"):
        sib200_folder(DemoConfig(), lone)
