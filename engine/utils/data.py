"""Datasets, samplers and the DataLoader, with PyTorch's names (`torch.utils.data`)."""

from __future__ import annotations

import bisect
import itertools
import math
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np

from engine import backend
from engine.creation import from_numpy
from engine.random import Generator, _rng
from engine.tensor import Tensor

__all__ = [
    "BatchSampler",
    "ChainDataset",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "IterableDataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "StackDataset",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "WeightedRandomSampler",
    "default_collate",
    "default_convert",
    "get_worker_info",
    "random_split",
]


# ----- datasets -------------------------------------------------------------
class DatasetArgumentError(ValueError, AssertionError):
    """A bad argument to TensorDataset or ConcatDataset: a ValueError, and also the
    AssertionError PyTorch raises there (its checks are asserts)."""


class Dataset:
    """A map-style dataset: `__getitem__(index)` and, for a DataLoader, `__len__()`.

    A dataset may also define `get_batch(indices)` returning the batch already
    collated; DataLoader then calls it once per batch instead of `__getitem__`
    once per sample (the fast path of `TensorDataset` and the image datasets).
    PyTorch's own `__getitems__(indices)`, returning a list of samples that the
    collate function then merges, is honoured as in PyTorch.
    """

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A stream of samples: `__iter__()` yields them; a DataLoader batches them in order.

    It takes no sampler and no shuffle. `len()` of its loader works only when the
    dataset defines `__len__`.
    """

    def __iter__(self) -> Iterator:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    def __add__(self, other: Dataset) -> ChainDataset:
        return ChainDataset([self, other])


class ChainDataset(IterableDataset):
    """Iterable datasets one after another."""

    def __init__(self, datasets: Iterable[Dataset]):
        self.datasets = datasets

    def __iter__(self) -> Iterator:
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError("ChainDataset only supports IterableDataset")
            yield from d

    def __len__(self) -> int:
        return sum(len(d) for d in self.datasets)


class StackDataset(Dataset):
    """Sample i is the tuple (or, for keyword datasets, the dict) of every dataset's sample i."""

    def __init__(self, *args: Dataset, **kwargs: Dataset):
        if args and kwargs:
            raise ValueError(
                "Supported either ``tuple``- (via ``args``) or``dict``- (via ``kwargs``) like "
                "input/output, but both types are given."
            )
        datasets = args or kwargs
        if not datasets:
            raise ValueError("At least one dataset should be passed")
        sizes = [len(d) for d in (args or kwargs.values())]
        if any(n != sizes[0] for n in sizes):
            raise ValueError("Size mismatch between datasets")
        self._length = sizes[0]
        self.datasets = datasets

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __getitems__(self, indices: list) -> list:
        """Samples `indices` at once: each dataset's own `__getitems__` where it has one."""
        if isinstance(self.datasets, dict):
            columns = {k: _stack_items(d, indices) for k, d in self.datasets.items()}
            return [{k: col[j] for k, col in columns.items()} for j in range(len(indices))]
        columns = [_stack_items(d, indices) for d in self.datasets]
        return [tuple(col[j] for col in columns) for j in range(len(indices))]

    def __len__(self) -> int:
        return self._length


def _stack_items(dataset, indices: list) -> list:
    getitems = getattr(dataset, "__getitems__", None)
    if getitems is None:
        return [dataset[i] for i in indices]
    items = getitems(indices)
    if len(items) != len(indices):
        raise ValueError(
            f"Nested dataset's output size mismatch. Expected {len(indices)}, got {len(items)}"
        )
    return list(items)


def get_worker_info():
    """None: samples are always loaded in the calling process (there are no workers)."""
    return None


class TensorDataset(Dataset):
    """Sample i is the tuple of every tensor's row i; all share their first dimension."""

    def __init__(self, *tensors: Tensor):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        tensors = tuple(_as_tensor(t, f"TensorDataset argument {i}") for i, t in enumerate(tensors))
        sizes = [t.shape[0] if t.ndim else None for t in tensors]
        if None in sizes:
            raise ValueError(
                "TensorDataset: 0-d tensors have no samples; give each a first dimension"
            )
        if any(s != sizes[0] for s in sizes):
            raise DatasetArgumentError(
                f"Size mismatch between tensors: first dimensions are {sizes}; "
                "every tensor must hold the same number of samples"
            )
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def get_batch(self, indices) -> list[Tensor]:
        """The samples at `indices`, collated: one fancy-index per tensor."""
        return [_take(t, indices) for t in self.tensors]


class ConcatDataset(Dataset):
    """The datasets one after another."""

    def __init__(self, datasets: Iterable[Dataset]):
        self.datasets = list(datasets)
        if not self.datasets:
            raise DatasetArgumentError("datasets should not be an empty iterable")
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int):
        n = len(self)
        if index < -n:  # PyTorch's error for a negative index past the start
            raise ValueError(
                f"absolute value of index should not exceed dataset length (index {index}, "
                f"length {n})"
            )
        if index >= n:
            raise IndexError(f"index {index} is out of range for a dataset of length {n}")
        index %= n
        which = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][index - start]


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]):
        self.dataset = dataset
        self.indices = indices

    @property
    def indices(self) -> Sequence[int]:
        return self._indices

    @indices.setter
    def indices(self, value: Sequence[int]) -> None:
        self._indices = value
        self._index_array = None  # built on the first batch, reused after

    def __getitem__(self, index):
        if isinstance(index, list):
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __len__(self) -> int:
        return len(self.indices)

    def get_batch(self, indices):
        """The samples at `indices`, collated through the parent dataset's fast path."""
        if self._index_array is None:
            self._index_array = np.asarray(self.indices, dtype=np.int64)
        return _fetch(self.dataset, self._index_array[np.asarray(indices, dtype=np.int64)], None)


def random_split(
    dataset: Dataset, lengths: Sequence[int | float], generator: Generator | None = None
) -> list[Subset]:
    """Split `dataset` at random into subsets of the given lengths (or fractions summing to 1)."""
    n = len(dataset)
    lengths = list(lengths)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        for i, frac in enumerate(lengths):
            if not 0 <= frac <= 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1 (got {frac})")
        sizes = [math.floor(n * frac) for frac in lengths]
        for i in range(n - sum(sizes)):  # hand out the remainder round-robin, like PyTorch
            sizes[i % len(sizes)] += 1
        for i, size in enumerate(sizes):
            if size == 0:
                warnings.warn(f"Length of split at index {i} is 0", stacklevel=2)
        lengths = sizes
    for i, size in enumerate(lengths):
        if not isinstance(size, int | np.integer) or size < 0:
            raise ValueError(
                f"random_split: length at index {i} must be a non-negative int, got {size!r}"
            )
    if sum(lengths) != n:
        raise ValueError(
            f"Sum of input lengths ({sum(lengths)}) does not equal the length of the "
            f"input dataset ({n})!"
        )
    order = _rng(generator).permutation(n).tolist()
    ends = list(itertools.accumulate(lengths))
    return [
        Subset(dataset, order[end - size : end]) for size, end in zip(lengths, ends, strict=True)
    ]


# ----- samplers -------------------------------------------------------------
class Sampler:
    """Yields the indices of a dataset, one at a time."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self) -> Iterator[int]:
        raise NotImplementedError


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A fresh random order each pass, drawn from `generator` (default: the global one)."""

    def __init__(
        self,
        data_source,
        replacement: bool = False,
        num_samples: int | None = None,
        generator: Generator | None = None,
    ):
        if not isinstance(replacement, bool):
            raise TypeError(
                f"replacement should be a boolean value, but got replacement={replacement}"
            )
        if num_samples is not None and not _is_positive_int(num_samples):
            raise ValueError(
                f"num_samples should be a positive integer value, but got num_samples={num_samples}"
            )
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not _is_positive_int(self.num_samples):  # an empty data_source, as in PyTorch
            raise ValueError(
                "num_samples should be a positive integer value, but got "
                f"num_samples={self.num_samples}"
            )

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n, rng = len(self.data_source), _rng(self.generator)
        if n == 0:  # emptied since __init__, or num_samples given for an empty one
            raise ValueError(
                f"RandomSampler: cannot draw {self.num_samples} samples from an empty data_source"
            )
        if self.replacement:
            yield from rng.integers(0, n, size=self.num_samples).tolist()
            return
        for _ in range(self.num_samples // n):
            yield from rng.permutation(n).tolist()
        yield from rng.permutation(n)[: self.num_samples % n].tolist()

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a fresh random order each pass."""

    def __init__(self, indices: Sequence[int], generator: Generator | None = None):
        self.indices = indices
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        for i in _rng(self.generator).permutation(len(self.indices)).tolist():
            yield self.indices[i]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """`num_samples` indices drawn with probabilities proportional to `weights`.

    With `replacement=False` each index comes at most once, so `num_samples` may
    not exceed the number of weights; indices of zero weight come last.
    """

    def __init__(
        self,
        weights: Sequence[float],
        num_samples: int,
        replacement: bool = True,
        generator: Generator | None = None,
    ):
        if not _is_positive_int(num_samples):
            raise ValueError(
                f"num_samples should be a positive integer value, but got num_samples={num_samples}"
            )
        if not isinstance(replacement, bool):
            raise ValueError(
                f"replacement should be a boolean value, but got replacement={replacement}"
            )
        if isinstance(weights, Tensor):
            weights = backend.to_device(weights._data, "cpu")
        array = np.asarray(weights, dtype=np.float64)
        if array.ndim != 1:
            raise ValueError(
                f"weights should be a 1d sequence but given weights have shape {tuple(array.shape)}"
            )
        self.weights = Tensor._make(array, False, None)
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        weights = self.weights._data
        if weights.size == 0 or not np.all(np.isfinite(weights)) or (weights < 0).any():
            raise RuntimeError(
                "invalid multinomial distribution: the weights must be finite, non-negative "
                f"and not empty, got {weights.tolist()}"
            )
        total = weights.sum()
        if total <= 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        rng = _rng(self.generator)
        if self.replacement:
            drawn = rng.choice(weights.size, size=self.num_samples, p=weights / total)
        else:  # the non-zero weights in weighted order, then the zero ones, as torch.multinomial
            if self.num_samples > weights.size:
                raise RuntimeError(
                    "cannot sample n_sample > prob_dist.size(-1) samples without replacement "
                    f"(num_samples={self.num_samples}, {weights.size} weights)"
                )
            nonzero = np.flatnonzero(weights)
            first = rng.choice(
                nonzero,
                size=min(self.num_samples, nonzero.size),
                replace=False,
                p=weights[nonzero] / total,
            )
            zeros = rng.permutation(np.flatnonzero(weights == 0))
            drawn = np.concatenate([first, zeros[: self.num_samples - first.size]])
        yield from drawn.tolist()

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Groups another sampler's indices into lists of `batch_size`."""

    def __init__(self, sampler: Iterable[int], batch_size: int, drop_last: bool):
        if not _is_positive_int(batch_size):
            raise ValueError(
                f"batch_size should be a positive integer value, but got batch_size={batch_size}"
            )
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        batch = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


# ----- collation ------------------------------------------------------------
_COLLATE_TYPES = "tensors, numpy arrays, numbers, dicts or lists"


def default_collate(batch: list):
    """Merge a list of samples into a batch: tensors, arrays and numbers are stacked into
    tensors (Python ints become int64, floats float64, as PyTorch's), strings stay as
    given (a list at the top, a tuple inside a sample's tuple or list), and tuples,
    lists and dicts are collated field by field (tuples come back as lists, like
    PyTorch).
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        shapes = {tuple(b.shape) for b in batch}
        if len(shapes) > 1:
            raise RuntimeError(
                f"stack expects each tensor to be equal size, but got shapes {sorted(shapes)}"
            )
        xp = backend.array_module(elem._data)
        return Tensor._make(xp.stack([b._data for b in batch]), False, None)
    if isinstance(elem, np.ndarray | np.generic):
        if elem.dtype.kind not in "biuf":
            raise TypeError(
                f"default_collate: batch must contain {_COLLATE_TYPES}; found {elem.dtype}"
            )
        return Tensor._make(np.stack(batch) if elem.ndim else np.array(batch), False, None)
    if isinstance(elem, bool):
        return Tensor._make(np.array(batch, dtype=np.bool_), False, None)
    if isinstance(elem, int | float):
        arr = np.array(batch)
        return Tensor._make(
            arr.astype(np.float64 if arr.dtype.kind == "f" else np.int64), False, None
        )
    if isinstance(elem, str | bytes):
        return batch
    if isinstance(elem, Mapping):
        merged = {key: default_collate([d[key] for d in batch]) for key in elem}
        try:
            return type(elem)(merged)
        except TypeError:  # a mapping type whose constructor takes something else
            return merged
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(field) for field in zip(*batch, strict=True)))
    if isinstance(elem, Sequence):
        if any(len(sample) != len(elem) for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        fields = [default_collate(field) for field in zip(*batch, strict=True)]
        if isinstance(elem, tuple):
            return fields
        try:
            return type(elem)(fields)
        except TypeError:
            return fields
    raise TypeError(f"default_collate: batch must contain {_COLLATE_TYPES}; found {type(elem)}")


def default_convert(data):
    """Turn numeric NumPy arrays inside a sample into tensors (used when batch_size=None)."""
    if isinstance(data, np.ndarray) and data.dtype.kind in "biuf":
        return Tensor._make(data, False, None)
    if isinstance(data, Mapping):
        return type(data)({key: default_convert(value) for key, value in data.items()})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, list):
        return [default_convert(d) for d in data]
    return data


# ----- the loader -----------------------------------------------------------
class DataLoader:
    """Batches of a dataset, in order or shuffled by a seeded generator.

    The shuffle order comes from `generator`, else from a generator seeded with
    `seed` (a stepgrad extra), else from the global generator (`manual_seed`).
    Each pass over the loader draws a new order. `num_workers`, `pin_memory`,
    `timeout`, `worker_init_fn`, `prefetch_factor` and `persistent_workers` are
    accepted for PyTorch scripts and ignored: loading runs in the calling thread.
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int | None = 1,
        shuffle: bool | None = None,
        sampler: Iterable[int] | None = None,
        batch_sampler: Iterable[list] | None = None,
        num_workers: int = 0,
        collate_fn: Callable | None = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Callable | None = None,
        generator: Generator | None = None,
        *,
        seed: int | None = None,
        prefetch_factor: int | None = None,
        persistent_workers: bool = False,
    ):
        if not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError(
                "num_workers option should be non-negative; use num_workers=0 to disable "
                f"multiprocessing (got num_workers={num_workers})"
            )
        if timeout < 0:
            raise ValueError(f"timeout option should be non-negative (got timeout={timeout})")
        if seed is not None:
            if generator is not None:
                raise ValueError("DataLoader: give either generator or seed, not both")
            generator = Generator().manual_seed(seed)
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "batch_sampler option is mutually exclusive with batch_size, shuffle, "
                    "sampler, and drop_last"
                )
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError(
                "batch_size=None option disables auto-batching and is mutually exclusive with "
                "drop_last"
            )
        if isinstance(dataset, IterableDataset):
            for name, value in (
                ("shuffle", shuffle),
                ("sampler", sampler),
                ("batch_sampler", batch_sampler),
            ):
                if value is not None and value is not False:
                    raise ValueError(
                        f"DataLoader with IterableDataset: expected unspecified {name} option, "
                        f"but got {name}={value}"
                    )
        elif sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if sampler is None and batch_sampler is None and not isinstance(dataset, IterableDataset):
            if not hasattr(dataset, "__len__"):
                raise TypeError(
                    f"DataLoader: the dataset ({type(dataset).__name__}) has no __len__; "
                    "give it one or pass a sampler"
                )
            sampler = (
                RandomSampler(dataset, generator=generator)
                if shuffle
                else SequentialSampler(dataset)
            )
        if batch_size is not None and batch_sampler is None and sampler is not None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = persistent_workers
        self._user_collate = collate_fn
        if collate_fn is None:
            batched = batch_sampler is not None or batch_size is not None
            collate_fn = default_collate if batched else default_convert
        self.collate_fn = collate_fn

    def __iter__(self) -> Iterator:
        if isinstance(self.dataset, IterableDataset):
            yield from self._iter_stream()
            return
        if self.batch_sampler is None:  # batch_size=None: samples one by one
            for index in self.sampler:
                yield self.collate_fn(self.dataset[index])
            return
        for indices in self.batch_sampler:
            yield _fetch(self.dataset, indices, self._user_collate)

    def _iter_stream(self) -> Iterator:
        """An IterableDataset's samples, in chunks of batch_size (or one by one)."""
        samples = iter(self.dataset)
        if self.batch_size is None:
            for sample in samples:
                yield self.collate_fn(sample)
            return
        while batch := list(itertools.islice(samples, self.batch_size)):
            if len(batch) < self.batch_size and self.drop_last:
                return
            yield self.collate_fn(batch)

    def __len__(self) -> int:
        if isinstance(self.dataset, IterableDataset):
            n = len(self.dataset)  # TypeError for a stream without __len__, as PyTorch's
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self.batch_sampler if self.batch_sampler is not None else self.sampler)

    def __repr__(self) -> str:
        return (
            f"DataLoader({type(self.dataset).__name__}, batch_size={self.batch_size}, "
            f"shuffle={isinstance(self.sampler, RandomSampler)}, drop_last={self.drop_last})"
        )


# ----- helpers --------------------------------------------------------------
def _fetch(dataset, indices, collate_fn: Callable | None):
    """One batch: the dataset's `get_batch` fast path when no collate_fn was given."""
    if collate_fn is None:
        get_batch = getattr(dataset, "get_batch", None)
        if get_batch is not None:
            return get_batch(indices)
        collate_fn = default_collate
    getitems = getattr(dataset, "__getitems__", None)
    samples = getitems(indices) if getitems else [dataset[i] for i in indices]
    return collate_fn(samples)


def _take(t: Tensor, indices) -> Tensor:
    """Rows `indices` of `t`, copied in one fancy-index, outside the graph."""
    index = np.asarray(indices, dtype=np.int64)
    data = t._data
    if backend.device_of(data) != "cpu":
        index = backend.to_device(index, backend.device_of(data))
    return Tensor._make(data[index], False, None)


def _as_tensor(value, what: str) -> Tensor:
    if isinstance(value, Tensor):
        return value
    if isinstance(value, np.ndarray):
        return from_numpy(value)
    raise TypeError(f"{what} is a {type(value).__name__}, expected a Tensor or numpy array")


def _is_positive_int(value) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool) and value > 0


# PyTorch's submodule paths lead here too: `from torch.utils.data.sampler import
# SubsetRandomSampler`, `torch.utils.data.dataloader.default_collate`, ...
dataloader = dataset = sampler = sys.modules[__name__]
for _part in ("dataloader", "dataset", "sampler"):
    sys.modules[f"{__name__}.{_part}"] = sys.modules[__name__]
del _part
