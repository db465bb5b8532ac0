"""app.model.data: the sets a design trains on, and every way a folder or setting can be wrong."""

from __future__ import annotations

import json
import os
import reprlib
from pathlib import Path

import numpy as np
import pytest

from app.model.data import (
    MAX_TOY_CLASSES,
    MAX_TOY_SAMPLES,
    DatasetError,
    DataSplit,
    make_datasets,
)
from app.model.design import Design
from app.sessions.setup import SessionError
from app.sessions.training import TrainingSession
from engine.utils.data import TensorDataset
from tests.engine.idx_files import idx_bytes, write_file, write_mnist

LENET = Path(__file__).resolve().parents[3] / "sample_models" / "lenet_mnist.json"


def lenet() -> Design:
    return Design.from_dict(json.loads(LENET.read_text()))


# ----- image folders --------------------------------------------------------
class TestImageFolders:
    def test_the_input_shape_is_the_one_read(self, tmp_path):
        write_mnist(tmp_path, image_sizes=((14, 14), (14, 14)))
        data = make_datasets({"dataset": "mnist"}, tmp_path)
        assert data.input_shape == (1, 14, 14) and data.num_classes == 10
        assert data.source == str(tmp_path / "train-images-idx3-ubyte.gz")
        assert make_datasets({"dataset": "digits"}).input_shape == (1, 8, 8)

    def test_small_images_are_refused_before_training_naming_both_sizes(self, tmp_path):
        write_mnist(tmp_path, image_sizes=((14, 14), (14, 14)))
        with pytest.raises(SessionError) as info:
            TrainingSession(lenet(), tmp_path)
        message = str(info.value)
        assert message.startswith(f"{tmp_path / 'train-images-idx3-ubyte.gz'}: ")
        assert "images are 14×14, the design expects 28×28" in message

    def test_splits_of_different_image_sizes_are_refused(self, tmp_path):
        write_mnist(tmp_path, image_sizes=((28, 28), (14, 14)))
        with pytest.raises(
            DatasetError, match=r"holds 28×28 images but .*t10k-images.* holds 14×14"
        ):
            make_datasets({"dataset": "mnist"}, tmp_path)

    @pytest.mark.parametrize(
        "sizes, file, which",
        [((0, 4), "train-images-idx3-ubyte.gz", "training"), ((6, 0), "t10k", "validation")],
    )
    def test_an_empty_split_is_refused_naming_its_file(self, tmp_path, sizes, file, which):
        write_mnist(tmp_path / "FashionMNIST" / "raw", sizes=sizes)
        with pytest.raises(DatasetError, match=rf"{file}.* holds no images; the {which} set"):
            make_datasets({"dataset": "fashion_mnist"}, tmp_path)

    @pytest.mark.parametrize("kind", ["folder", "fifo"])
    def test_a_folder_or_fifo_in_place_of_a_file(self, tmp_path, kind):
        write_mnist(tmp_path)
        path = tmp_path / "train-labels-idx1-ubyte.gz"
        path.unlink()
        path.mkdir() if kind == "folder" else os.mkfifo(path)
        with pytest.raises(DatasetError, match=rf"^{path}: (a folder|not a regular file)"):
            make_datasets({"dataset": "mnist"}, tmp_path)

    def test_labels_out_of_range(self, tmp_path):
        write_mnist(tmp_path)
        write_file(tmp_path / "t10k-labels-idx1-ubyte.gz", idx_bytes(np.full(4, 10)))
        with pytest.raises(DatasetError, match=r"t10k-labels-idx1-ubyte.gz: label 10 is out of"):
            make_datasets({"dataset": "mnist"}, tmp_path)

    def test_an_unreadable_file_is_a_dataset_error(self, tmp_path):
        if os.geteuid() == 0:
            pytest.skip("root reads files whatever their mode")
        write_mnist(tmp_path)
        (tmp_path / "train-images-idx3-ubyte.gz").chmod(0)
        with pytest.raises(DatasetError, match="train-images-idx3-ubyte.gz: Permission denied"):
            make_datasets({"dataset": "mnist"}, tmp_path)


# ----- toy settings ---------------------------------------------------------
BAD_TOY_SETTINGS = [
    ("moons", "n", 10**12),
    ("moons", "n", MAX_TOY_SAMPLES + 1),
    ("moons", "n", True),
    ("moons", "n", "400"),
    ("moons", "n", float("nan")),
    ("moons", "n", -5),
    ("moons", "n", 1),
    ("moons", "n", [400]),
    ("moons", "noise", "lots"),
    ("moons", "noise", float("nan")),
    ("moons", "noise", float("inf")),
    ("moons", "noise", True),
    ("moons", "noise", -1),
    ("moons", "noise", [0.1]),
    ("spirals", "classes", 2.5),
    ("spirals", "classes", True),
    ("spirals", "classes", MAX_TOY_CLASSES + 1),
    ("spirals", "classes", [3]),
    ("spirals", "classes", "3"),
    ("blobs", "centers", 10**9),
    ("blobs", "centers", "abc"),
    ("blobs", "centers", True),
    ("blobs", "centers", [[1]]),
    ("blobs", "centers", [[0, float("nan")], [1, 1]]),
    ("blobs", "centers", [[0, 0]] * (MAX_TOY_CLASSES + 1)),
    ("circles", "factor", "x"),
    ("circles", "factor", float("nan")),
    ("circles", "factor", True),
    ("circles", "factor", [0.5]),
    ("circles", "factor", 1),
    ("xor", "val_fraction", True),
    ("xor", "val_fraction", float("nan")),
    ("xor", "val_fraction", "0.2"),
    ("xor", "val_fraction", 1),
    ("xor", "val_fraction", [0.2]),
]


@pytest.mark.parametrize("dataset, key, value", BAD_TOY_SETTINGS)
def test_bad_toy_settings_are_refused_naming_the_setting_and_value(dataset, key, value):
    with pytest.raises(DatasetError) as info:
        make_datasets({"dataset": dataset, key: value})
    message = str(info.value)
    assert key in message and reprlib.repr(value) in message


def test_a_validation_fraction_that_leaves_nothing_to_train_on():
    with pytest.raises(DatasetError, match=r"val_fraction 0.9 of 3 samples leaves none to train"):
        make_datasets({"dataset": "spirals", "n": 3, "classes": 3, "val_fraction": 0.9})
    data = make_datasets({"dataset": "moons", "n": 2, "val_fraction": 0.5})
    assert (len(data.train), len(data.val)) == (1, 1)


def test_the_largest_toy_set_is_made():
    data = make_datasets({"dataset": "xor", "n": MAX_TOY_SAMPLES, "noise": 0.0})
    assert len(data.train) + len(data.val) == MAX_TOY_SAMPLES


def test_a_split_with_an_empty_part_cannot_be_made():
    x = np.zeros((0, 2), np.float32)
    empty = TensorDataset(x, np.zeros(0, np.int64))
    full = TensorDataset(np.zeros((3, 2), np.float32), np.zeros(3, np.int64))
    with pytest.raises(DatasetError, match="somewhere: the validation set is empty"):
        DataSplit("toy", full, empty, (2,), 2, "somewhere")
    with pytest.raises(DatasetError, match="toy: the training set is empty"):
        DataSplit("toy", empty, full, (2,), 2)


# ----- cases the property tests found ---------------------------------------------
def test_noise_beyond_float32_is_refused():
    # test_toy_settings_give_sets_or_a_dataset_error_many: the points came back infinite
    with pytest.raises(DatasetError, match=r"noise 8.726482548862234e\+37 puts points beyond"):
        make_datasets({"dataset": "blobs", "noise": 8.726482548862234e37})
    with pytest.raises(DatasetError, match="centers must be finite float32 values"):
        make_datasets({"dataset": "blobs", "centers": [[1e39, 0], [0, 0]]})
