"""Embedding lookup: rows of a weight matrix picked by integer indices."""

from __future__ import annotations

import numpy as np

from engine import backend, creation
from engine.autograd import Function
from engine.ops.elementwise import _xp
from engine.tensor import Tensor


class EmbeddingOp(Function):
    """weight[indices]; the rows picked add their gradients up, except `padding_idx`'s."""

    op = "embedding"
    saves_others = True  # the indices

    def forward(self, weight, indices, padding_idx, scale_grad_by_freq=False):
        self.shape, self.indices, self.padding_idx = weight.shape, indices, padding_idx
        self.scale_grad_by_freq = scale_grad_by_freq
        return weight[indices]

    def backward(self, g):
        xp = _xp(g)
        out = xp.zeros(self.shape, dtype=g.dtype)
        backend.index_add(out, self.indices, g)  # repeated indices add up
        if self.scale_grad_by_freq:  # each row's gradient divided by its count in the batch
            counts = xp.bincount(self.indices.ravel(), minlength=self.shape[0])
            out /= xp.maximum(counts, 1).astype(g.dtype)[:, None]
        if self.padding_idx is not None:
            out[self.padding_idx] = 0  # PyTorch leaves the padding vector untrained
        return (out,)


def _renorm_rows(weight, indices, max_norm, norm_type) -> None:
    """Scale in place each row of `weight` picked by `indices` whose norm exceeds `max_norm`
    down to max_norm (PyTorch's embedding_renorm_: outside autograd)."""
    xp = backend.array_module(weight._data)
    rows = xp.unique(indices.ravel())
    picked = weight._data[rows]
    if norm_type == float("inf"):
        norms = xp.abs(picked).max(axis=1)
    else:
        norms = (xp.abs(picked) ** norm_type).sum(axis=1) ** (1.0 / norm_type)
    scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0).astype(picked.dtype)
    weight._data[rows] = picked * scale[:, None]


def _check_indices(input, name: str) -> None:
    if input._data.dtype.name not in ("int64", "int32"):  # PyTorch's error, type and words
        raise RuntimeError(
            "Expected tensor for argument #1 'indices' to have one of the following scalar "
            f"types: Long, Int; but got {input.dtype} instead (while checking arguments for "
            f"{name})"
        )


def embedding(
    input,
    weight,
    padding_idx=None,
    max_norm=None,
    norm_type=2.0,
    scale_grad_by_freq=False,
    sparse=False,
) -> Tensor:
    """The rows of `weight` at the integer indices `input`; `padding_idx`'s row gets no
    gradient. With max_norm, the rows picked are first renormalised in place. Gradients are
    always dense (sparse is accepted and has no effect)."""
    _check_indices(input, "embedding")
    n = weight.shape[0]
    if input.numel() and (int(input._data.max()) >= n or int(input._data.min()) < 0):
        raise IndexError(
            f"embedding: index out of range: indices must be in [0, {n}), "
            f"got values in [{int(input._data.min())}, {int(input._data.max())}]"
        )
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise ValueError(f"embedding: padding_idx must be within num_embeddings ({n})")
        padding_idx %= n
    if max_norm is not None and input.numel():
        _renorm_rows(weight, input._data, max_norm, norm_type)
    return EmbeddingOp.apply(
        weight,
        indices=input._data,
        padding_idx=padding_idx,
        scale_grad_by_freq=scale_grad_by_freq,
    )


def embedding_bag(
    input,
    weight,
    offsets=None,
    max_norm=None,
    norm_type=2,
    scale_grad_by_freq=False,
    mode="mean",
    sparse=False,
    per_sample_weights=None,
    include_last_offset=False,
    padding_idx=None,
) -> Tensor:
    """The sum, mean or max of bags of rows of `weight`: a 2-D `input` is one bag per row; a
    1-D one is cut into bags where `offsets` say. Entries equal to padding_idx are left out of
    their bag (and of its count); an empty bag gives zeros."""
    from engine import ops

    _check_indices(input, "embedding_bag")
    if mode not in ("sum", "mean", "max"):
        raise ValueError(f"mode has to be one of sum, mean or max, got {mode}")
    if per_sample_weights is not None:
        if mode != "sum":
            raise NotImplementedError(
                "embedding_bag: per_sample_weights was not None. per_sample_weights is only "
                f"supported for mode='sum' (got mode='{mode}'). Please open a feature request "
                "on GitHub."
            )
        if tuple(per_sample_weights.shape) != tuple(input.shape):
            raise ValueError(
                f"embedding_bag: If per_sample_weights ({tuple(per_sample_weights.shape)}) is "
                f"not None, then it must have the same shape as the input "
                f"({tuple(input.shape)})"
            )
    if input.ndim == 2:
        if offsets is not None:
            raise ValueError(
                "if input is 2D, then offsets has to be None, as input is treated is a "
                "mini-batch of fixed length sequences. However, found offsets of type "
                f"{type(offsets)}"
            )
        bags, length = input.shape
        starts = [i * length for i in range(bags)]
        ends = [s + length for s in starts]
        input = input.reshape(-1)
        if per_sample_weights is not None:
            per_sample_weights = per_sample_weights.reshape(-1)
    elif input.ndim == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        if offsets.ndim != 1:
            raise ValueError("offsets has to be a 1D Tensor")
        cuts = [int(v) for v in backend.to_numpy(offsets._data)]
        if cuts and cuts[0] != 0:
            raise RuntimeError(
                "offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to "
                f"start from position 0. However, got {cuts[0]}"
            )
        if cuts and cuts[-1] > input.shape[0]:
            raise RuntimeError(
                f"offsets[-1] can not be greater than input's length {input.shape[0]} but got "
                f"offsets[-1] of {cuts[-1]}"
            )
        if include_last_offset:
            starts, ends = cuts[:-1], cuts[1:]
        else:
            starts, ends = cuts, [*cuts[1:], input.shape[0]]
    else:
        raise ValueError(
            f"input has to be 1D or 2D Tensor, but got Tensor of dimension {input.ndim}"
        )
    n = weight.shape[0]
    idx = backend.to_numpy(input._data)
    bad = (idx < 0) | (idx >= n)
    if bad.any():
        i = int(bad.argmax())
        raise RuntimeError(
            f"Index {i} of input takes value {int(idx[i])} which is not in the valid range [0, {n})"
        )
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise ValueError(f"embedding_bag: padding_idx must be within num_embeddings ({n})")
        padding_idx %= n
    rows = embedding(input, weight, padding_idx, max_norm, norm_type, scale_grad_by_freq)
    if per_sample_weights is not None:
        rows = rows * per_sample_weights.unsqueeze(1)
    keep = idx != padding_idx if padding_idx is not None else np.ones(len(idx), bool)
    if mode == "max":
        out = []
        for s, e in zip(starts, ends, strict=True):
            members = [j for j in range(s, e) if keep[j]]
            if members:
                out.append(rows[members].amax(0))
            else:
                out.append(
                    creation.zeros(weight.shape[1], dtype=weight.dtype, device=weight.device)
                )
        if not out:
            return creation.zeros(0, weight.shape[1], dtype=weight.dtype, device=weight.device)
        return ops.stack(out)
    mix = np.zeros((len(starts), len(idx)), dtype=weight._data.dtype)
    for b, (s, e) in enumerate(zip(starts, ends, strict=True)):
        members = keep[s:e]
        count = int(members.sum())
        if count:
            mix[b, s:e] = members / count if mode == "mean" else members
    mix = Tensor._make(backend.to_device(mix, weight.device.type), False, None)
    return ops.matmul(mix, rows)
