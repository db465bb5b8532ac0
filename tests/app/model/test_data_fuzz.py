"""Property tests of make_datasets: folders and toy settings give usable sets or one DatasetError.

The folders are those of tests/engine/test_datasets_fuzz.py; the toy settings take
every kind of JSON value. A DataSplit that comes back has two non-empty sets whose
input_shape is that of the samples; anything else is a one-line DatasetError. The
`slow` variants run many more examples.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from app.model.data import TOY_SETS, DatasetError, DataSplit, make_datasets
from tests.engine.idx_files import build_folder, mnist_folders

SECONDS = 10  # far above what any example takes; a hang or a huge read would pass it


def check_folder(members: dict) -> None:
    with tempfile.TemporaryDirectory() as root:
        build_folder(Path(root), members)
        start = time.monotonic()
        try:
            data = make_datasets({"dataset": "mnist"}, root)
        except DatasetError as err:
            event("DatasetError")
            assert root in str(err)
        else:
            event("loaded")
            assert isinstance(data, DataSplit) and len(data.train) >= 1 and len(data.val) >= 1
            assert data.input_shape == (1, *data.train.data.shape[1:])
            assert data.input_shape == tuple(data.val[0][0].shape)
        assert time.monotonic() - start < SECONDS


@settings(max_examples=200)
@given(mnist_folders())
def test_data_folders_give_sets_or_a_dataset_error(members):
    check_folder(members)


@pytest.mark.slow
@settings(max_examples=3000)
@given(mnist_folders())
def test_data_folders_give_sets_or_a_dataset_error_many(members):
    check_folder(members)


# ----- toy settings -----------------------------------------------------------
JSON_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 50),
    st.sampled_from([10**12, 2**63, 1_000_001, -(2**63)]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.lists(st.integers(-2, 2), max_size=3),
    st.lists(st.lists(st.floats(), min_size=1, max_size=3), min_size=1, max_size=4),
)
TOY_SETTINGS = st.fixed_dictionaries(
    {"dataset": st.sampled_from(sorted(TOY_SETS)), "seed": st.integers(0, 2**63 - 1)},
    optional={key: JSON_VALUES for key in ("n", "noise", "classes", "centers", "factor")}
    | {"val_fraction": st.one_of(JSON_VALUES, st.floats(0, 1))},
)


def check_toy(training: dict) -> None:
    start = time.monotonic()
    try:
        data = make_datasets(training)
    except DatasetError as err:
        event("DatasetError")
        assert str(err) and "\n" not in str(err)
    else:
        event("made")
        x, y = data.train.tensors
        assert len(data.train) >= 1 and len(data.val) >= 1 and data.input_shape == (2,)
        assert tuple(x.shape[1:]) == (2,) and np.isfinite(x.numpy()).all()
        assert 0 <= int(y.min().item()) and int(y.max().item()) < data.num_classes
    assert time.monotonic() - start < SECONDS


@settings(max_examples=300)
@given(TOY_SETTINGS)
def test_toy_settings_give_sets_or_a_dataset_error(training):
    check_toy(training)


@pytest.mark.slow
@settings(max_examples=3000)
@given(TOY_SETTINGS)
def test_toy_settings_give_sets_or_a_dataset_error_many(training):
    check_toy(training)
