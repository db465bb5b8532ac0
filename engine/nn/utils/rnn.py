"""Variable-length sequences for the recurrent layers: PyTorch's PackedSequence and helpers."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from engine import creation, ops
from engine.tensor import Tensor

__all__ = [
    "PackedSequence",
    "pack_padded_sequence",
    "pack_sequence",
    "pad_packed_sequence",
    "pad_sequence",
]


class PackedSequence(NamedTuple):
    """Sequences of several lengths, time step by time step: `data` holds the batch_sizes[0]
    first elements, then the batch_sizes[1] second ones, and so on (sorted by length, longest
    first; sorted_indices says where each came from)."""

    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None = None
    unsorted_indices: Tensor | None = None

    def to(self, *args, **kwargs) -> PackedSequence:
        """The same sequences with `data` moved or cast (indices stay as they are)."""
        data = self.data.to(*args, **kwargs)
        return self if data is self.data else self._replace(data=data)

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda


def _sizes(packed: PackedSequence) -> list[int]:
    return [int(b) for b in packed.batch_sizes.numpy()]


def _lengths_from_sizes(sizes: list[int]) -> np.ndarray:
    """Each sorted sequence's length: how many steps have it in their batch."""
    return (np.arange(sizes[0])[None, :] < np.asarray(sizes)[:, None]).sum(axis=0)


def _packed_rows(sizes: list[int], batch: int) -> np.ndarray:
    """For a (T, batch, ...) tensor viewed as (T * batch, ...), the rows a pack keeps."""
    return np.concatenate([t * batch + np.arange(b) for t, b in enumerate(sizes)])


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch (T, B, *) (or (B, T, *)) of sequences of the given lengths."""
    lengths = np.asarray(lengths.numpy() if isinstance(lengths, Tensor) else lengths)
    lengths = lengths.astype(np.int64).reshape(-1)
    if enforce_sorted:
        if np.any(lengths[:-1] < lengths[1:]):
            raise RuntimeError(
                "`lengths` array must be sorted in decreasing order when `enforce_sorted` is "
                "True. You can pass `enforce_sorted=False` to pack_padded_sequence and/or "
                "pack_sequence to sidestep this requirement if you do not need ONNX "
                "exportability."
            )
        sorted_indices = unsorted_indices = None
    else:
        order = np.argsort(-lengths, kind="stable")
        sorted_indices = creation.tensor(order)
        unsorted_indices = creation.tensor(np.argsort(order, kind="stable"))
        lengths = lengths[order]
        input = input[:, order] if not batch_first else input[order]
    if batch_first:
        input = input.transpose(0, 1)
    if lengths.size and lengths.min() <= 0:
        raise RuntimeError(
            "Length of all samples has to be greater than 0, but found an element in 'lengths' "
            "that is <= 0"
        )
    steps, batch = input.shape[0], input.shape[1]
    if lengths.size != batch:
        raise RuntimeError(
            f"Expected `len(lengths)` to be equal to batch_size, but got {lengths.size} "
            f"(batch_size={batch})"
        )
    if lengths.size and lengths.max() > steps:
        raise RuntimeError(
            f"pack_padded_sequence: a length of {lengths.max()} is longer than the "
            f"{steps} steps of the input"
        )
    sizes = [int(n) for n in (lengths[None, :] > np.arange(lengths.max())[:, None]).sum(axis=1)]
    rows = _packed_rows(sizes, batch)
    data = input.reshape(steps * batch, *input.shape[2:])[rows]
    return PackedSequence(
        data, creation.tensor(np.asarray(sizes)), sorted_indices, unsorted_indices
    )


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """The padded batch (T, B, *) (or (B, T, *)) of a PackedSequence, and the lengths."""
    sizes = _sizes(sequence)
    steps, batch = len(sizes), sizes[0]
    if total_length is not None:
        if total_length < steps:
            raise ValueError(
                "Expected total_length to be at least the length of the longest sequence in "
                f"input, but got total_length={total_length} and max sequence length being "
                f"{steps}"
            )
        steps = total_length
    data = sequence.data
    fill = creation.full((1, *data.shape[1:]), padding_value, dtype=data.dtype, device=data.device)
    where = np.full(steps * batch, data.shape[0], dtype=np.int64)  # the fill row by default
    where[_packed_rows(sizes, batch)] = np.arange(data.shape[0])
    padded = ops.cat([data, fill])[where].reshape(steps, batch, *data.shape[1:])
    lengths = _lengths_from_sizes(sizes)
    if sequence.unsorted_indices is not None:
        order = sequence.unsorted_indices.numpy()
        padded, lengths = padded[:, order], lengths[order]
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, creation.tensor(lengths.astype(np.int64))


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack tensors of shape (L_i, *) into (L_max, B, *) (or (B, L_max, *)), padded."""
    if padding_side not in ("left", "right"):
        raise RuntimeError(
            f"Expected padding_side to be one of left or right, but got {padding_side}."
        )
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        extra = longest - s.shape[0]
        if extra:
            fill = creation.full(
                (extra, *s.shape[1:]), padding_value, dtype=s.dtype, device=s.device
            )
            s = ops.cat([s, fill] if padding_side == "right" else [fill, s])
        padded.append(s)
    return ops.stack(padded, 0 if batch_first else 1)


def pack_sequence(sequences, enforce_sorted=True):
    """Pack a list of tensors of shape (L_i, *)."""
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)
