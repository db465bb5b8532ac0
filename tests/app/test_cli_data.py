"""`stepgrad train` on bad data folders and toy settings: one line on stderr, exit 2."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from tests.app.cli_process import ROOT, stepgrad
from tests.engine.idx_files import idx_bytes, idx_header, write_file, write_mnist, zero_bomb

LENET = ROOT / "sample_models" / "lenet_mnist.json"
SPIRALS = ROOT / "sample_models" / "spiral_mlp.json"


def fifo_in_place_of_labels(folder: Path) -> None:
    path = folder / "train-labels-idx1-ubyte.gz"
    path.unlink()
    os.mkfifo(path)


FOLDERS = {
    "empty-training-split": (
        lambda f: write_mnist(f, sizes=(0, 4)),
        "train-images-idx3-ubyte.gz holds no images",
    ),
    "small-images": (
        lambda f: write_mnist(f, image_sizes=((14, 14), (14, 14))),
        "images are 14×14, the design expects 28×28",
    ),
    "absurd-header": (
        lambda f: write_file(
            f / "train-images-idx3-ubyte.gz", idx_header(0x0803, (2**31,) * 3) + bytes(99)
        ),
        "is more than the 256 MiB of data",
    ),
    "gzip-bomb": (
        lambda f: zero_bomb(f / "train-images-idx3-ubyte.gz", idx_header(0x0803, (6, 28, 28)), 1),
        "unexpected bytes after the data",
    ),
    "fifo": (fifo_in_place_of_labels, "train-labels-idx1-ubyte.gz: not a regular file"),
    "labels-out-of-range": (
        lambda f: write_file(f / "train-labels-idx1-ubyte.gz", idx_bytes(np.full(6, 200))),
        "label 200 is out of range 0..9",
    ),
}


@pytest.mark.parametrize("case", FOLDERS)
def test_a_bad_data_folder_is_one_line_and_exit_2(tmp_path, case):
    spoil, expected = FOLDERS[case]
    folder = tmp_path / "data"
    write_mnist(folder)
    spoil(folder)
    done = stepgrad("train", str(LENET), "--data", str(folder), cwd=tmp_path)
    lines = done.stderr.splitlines()
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert len(lines) == 1 and lines[0].startswith(f"stepgrad: {folder}") and expected in lines[0]
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    "setting, expected",
    [
        ({"n": 10**12}, "training.n must be a whole number from 2 to 1,000,000"),
        ({"noise": float("inf")}, "noise must be a finite number >= 0, got inf"),
        ({"n": 3, "val_fraction": 0.9}, "leaves none to train on"),
    ],
)
def test_bad_toy_settings_are_one_line_and_exit_2(tmp_path, setting, expected):
    design = json.loads(SPIRALS.read_text())
    design["training"].update(setting)
    path = tmp_path / "design.json"
    path.write_text(json.dumps(design))
    done = stepgrad("train", str(path), cwd=tmp_path)
    lines = done.stderr.splitlines()
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert len(lines) == 1 and lines[0].startswith("stepgrad: ") and expected in lines[0]
