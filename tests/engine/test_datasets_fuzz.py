"""Property tests of MNIST folders: each split loads consistently or fails cleanly.

Hypothesis builds folders whose files have random headers, shapes, type codes,
counts, truncations, flipped bytes, gzip or not, or are folders, FIFOs or missing
(tests/engine/idx_files.py). MNIST either reads them, with sizes and shapes that
agree, or raises CorruptDatasetError or DatasetNotFoundError naming the folder, in
bounded time. The `slow` variant runs many more examples.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import event, given, settings

from engine.datasets import MNIST, CorruptDatasetError, DatasetNotFoundError
from tests.engine.idx_files import build_folder, mnist_folders

SECONDS = 10  # far above what any example takes; a hang or a huge read would pass it


def check_mnist(members: dict) -> None:
    """Both splits of the folder load with consistent sizes, or fail with a dataset error."""
    with tempfile.TemporaryDirectory() as root:
        build_folder(Path(root), members)
        start = time.monotonic()
        for train in (True, False):
            try:
                ds = MNIST(root, train=train)
            except (CorruptDatasetError, DatasetNotFoundError) as err:
                event(type(err).__name__)
                assert root in str(err)
                continue
            event("loaded")
            images, labels = ds.data.numpy(), ds.targets.numpy()
            assert images.dtype == np.uint8 and labels.dtype == np.int64
            assert images.ndim == 3 and len(images) == len(labels) == len(ds)
            assert np.isin(labels, np.arange(10)).all()
            if len(ds):
                image, label = ds[len(ds) - 1]
                assert tuple(image.shape) == (1, *images.shape[1:]) and 0 <= label <= 9
        assert time.monotonic() - start < SECONDS


@settings(max_examples=200)
@given(mnist_folders())
def test_mnist_folders_load_or_fail_cleanly(members):
    check_mnist(members)


@pytest.mark.slow
@settings(max_examples=3000)
@given(mnist_folders())
def test_mnist_folders_load_or_fail_cleanly_many(members):
    check_mnist(members)
