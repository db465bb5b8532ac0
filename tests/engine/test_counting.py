"""bincount against PyTorch: counts, weighted sums, dtypes and errors."""

from __future__ import annotations

import numpy as np
import pytest

import engine

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")


def _both(fn):
    """fn(lib) on either library, as (dtype name, values) or the builtin error type raised."""
    out = []
    for lib in (engine, torch):
        try:
            r = fn(lib)
        except Exception as exc:
            out.append(next(c.__name__ for c in type(exc).__mro__ if c.__module__ == "builtins"))
        else:
            out.append((str(r.dtype).split(".")[-1], r.shape, r.tolist(), r.requires_grad))
    return out


CASES = {
    "counts": lambda lib: lib.bincount(lib.tensor([0, 1, 1, 3, 3, 3])),
    "method": lambda lib: lib.tensor([2, 2, 0]).bincount(),
    "minlength": lambda lib: lib.bincount(lib.tensor([0, 1]), minlength=5),
    "minlength_short": lambda lib: lib.bincount(lib.tensor([0, 4]), minlength=2),
    "empty": lambda lib: lib.bincount(lib.tensor([], dtype=lib.long)),
    "empty_min": lambda lib: lib.bincount(lib.tensor([], dtype=lib.long), minlength=3),
    "uint8": lambda lib: lib.bincount(lib.tensor([1, 2, 2], dtype=lib.uint8)),
    "int32": lambda lib: lib.bincount(lib.tensor([1, 2, 2], dtype=lib.int32)),
    "w32": lambda lib: lib.bincount(lib.tensor([0, 2, 2]), lib.tensor([0.5, 1.0, 2.0])),
    "w64": lambda lib: lib.bincount(
        lib.tensor([0, 2, 2]), weights=lib.tensor([0.5, 1.0, 2.0], dtype=lib.float64)
    ),
    "wint": lambda lib: lib.bincount(lib.tensor([0, 2, 2]), weights=lib.tensor([1, 2, 3])),
    "negative": lambda lib: lib.bincount(lib.tensor([-1, 2])),
    "float": lambda lib: lib.bincount(lib.tensor([1.0, 2.0])),
    "bool": lambda lib: lib.bincount(lib.tensor([True, False])),
    "2d": lambda lib: lib.bincount(lib.tensor([[1, 2]])),
    "bad_min": lambda lib: lib.bincount(lib.tensor([1]), minlength=-1),
    "bad_weights": lambda lib: lib.bincount(lib.tensor([1, 2]), weights=lib.ones(3)),
    "not_tensor": lambda lib: lib.bincount([1, 2]),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bincount_matches_torch(name):
    ours, theirs = _both(CASES[name])
    if isinstance(theirs, tuple):
        theirs = (*theirs[:3], False)  # no gradient flows back through the engine's counts
    assert ours == theirs


def test_class_weights_for_a_weighted_sampler():
    labels = np.array([0, 0, 0, 1, 2, 2])
    got = []
    for lib in (engine, torch):
        y = lib.tensor(labels)
        weights = 1.0 / lib.bincount(y).float()
        got.append(weights[y].numpy())
    np.testing.assert_array_equal(got[0], got[1])


def test_float_input_error_names_the_dtype():
    with pytest.raises(NotImplementedError, match="'Float'"):
        engine.bincount(engine.tensor([1.0]))


@pytest.mark.gpu
def test_bincount_on_cuda_stays_there():
    x = engine.tensor([0, 2, 2, 5], device="cuda")
    w = engine.tensor([1.0, 0.5, 0.25, 2.0], device="cuda")
    counts, sums = engine.bincount(x, minlength=7), x.bincount(w)
    assert counts.device.type == "cuda" and sums.device.type == "cuda"
    assert counts.cpu().tolist() == [1, 0, 2, 0, 0, 1, 0]
    assert sums.dtype == engine.float32 and sums.cpu().tolist() == [1.0, 0, 0.75, 0, 0, 2.0]
