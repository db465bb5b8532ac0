"""Iterable (stream) datasets, ChainDataset, StackDataset and get_worker_info."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from engine.utils.data import Dataset


class IterableDataset(Dataset):
    """A dataset read as a stream: subclasses define `__iter__`, not `__getitem__`.

    A DataLoader over one takes no sampler and no shuffle: it batches the stream's
    items in order, `batch_size` at a time. Loading runs in the calling process, so
    `get_worker_info()` is None inside `__iter__` whatever `num_workers` says.
    """

    def __iter__(self) -> Iterator:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    def __add__(self, other: Dataset) -> ChainDataset:
        return ChainDataset([self, other])


class ChainDataset(IterableDataset):
    """Several iterable datasets read one after another."""

    def __init__(self, datasets: Iterable[Dataset]):
        super().__init__()
        self.datasets = datasets

    def __iter__(self) -> Iterator:
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError("ChainDataset only supports IterableDataset")
            yield from d

    def __len__(self) -> int:
        total = 0
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise AssertionError("ChainDataset only supports IterableDataset")
            total += len(d)
        return total


class StackDataset(Dataset):
    """Datasets of equal length read side by side: `StackDataset(a, b)[i]` is
    `(a[i], b[i])`; `StackDataset(x=a, y=b)[i]` is `{'x': a[i], 'y': b[i]}`."""

    def __init__(self, *args: Dataset, **kwargs: Dataset):
        if args:
            if kwargs:
                raise ValueError(
                    "Supported either ``tuple``- (via ``args``) or``dict``- (via ``kwargs``) "
                    "like input/output, but both types are given."
                )
            self._length = len(args[0])
            if any(self._length != len(d) for d in args):
                raise ValueError("Size mismatch between datasets")
            self.datasets = args
        elif kwargs:
            sets = list(kwargs.values())
            self._length = len(sets[0])
            if any(self._length != len(d) for d in sets):
                raise ValueError("Size mismatch between datasets")
            self.datasets = kwargs
        else:
            raise ValueError("At least one dataset should be passed")

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {k: d[index] for k, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __getitems__(self, indices: list) -> list:
        if isinstance(self.datasets, dict):
            columns = {k: _items(d, indices) for k, d in self.datasets.items()}
            return [{k: col[j] for k, col in columns.items()} for j in range(len(indices))]
        columns = [_items(d, indices) for d in self.datasets]
        return [tuple(col[j] for col in columns) for j in range(len(indices))]

    def __len__(self) -> int:
        return self._length


def _items(dataset, indices: list) -> list:
    getitems = getattr(dataset, "__getitems__", None)
    if getitems is not None:
        items = getitems(indices)
        if len(items) != len(indices):
            raise ValueError(
                f"Nested dataset's output size mismatch. Expected {len(indices)}, got {len(items)}"
            )
        return list(items)
    return [dataset[i] for i in indices]


class _InfiniteConstantSampler:
    """The sampler a DataLoader over a stream holds: None, forever."""

    def __iter__(self) -> Iterator[None]:
        while True:
            yield None


def get_worker_info():
    """Information about the DataLoader worker running this code: None, as loading always
    runs in the calling process here."""
    return None


def stream_sampler(shuffle, sampler, batch_sampler) -> _InfiniteConstantSampler:
    """The sampler for a DataLoader over an IterableDataset, after PyTorch's refusals of
    the map-style options."""
    if shuffle not in (False, None):
        raise ValueError(
            "DataLoader with IterableDataset: expected unspecified shuffle option, but got "
            f"shuffle={shuffle}"
        )
    if sampler is not None:
        raise ValueError(
            "DataLoader with IterableDataset: expected unspecified sampler option, but got "
            f"sampler={sampler}"
        )
    if batch_sampler is not None:
        raise ValueError(
            "DataLoader with IterableDataset: expected unspecified batch_sampler option, but "
            f"got batch_sampler={batch_sampler}"
        )
    return _InfiniteConstantSampler()


def iterate_stream(loader) -> Iterator:
    """A DataLoader's pass over an IterableDataset: items in order, batched when it batches."""
    from engine.utils.data import default_collate

    stream = iter(loader.dataset)
    if loader.batch_size is None:
        for item in stream:
            yield loader.collate_fn(item)
        return
    collate = loader._user_collate or default_collate
    while True:
        batch = []
        for item in stream:
            batch.append(item)
            if len(batch) == loader.batch_size:
                break
        if not batch or (len(batch) < loader.batch_size and loader.drop_last):
            return
        yield collate(batch)
        if len(batch) < loader.batch_size:
            return


def stream_length(loader) -> int:
    """len() of a DataLoader over an IterableDataset: from the dataset's own len()."""
    n = len(loader.dataset)
    if loader.batch_size is None:
        return n
    return n // loader.batch_size if loader.drop_last else -(-n // loader.batch_size)
