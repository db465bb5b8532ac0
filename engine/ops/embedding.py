"""Embedding lookup: rows of a weight matrix picked by integer indices."""

from __future__ import annotations

from engine import backend
from engine.autograd import Function
from engine.ops.elementwise import _xp
from engine.tensor import Tensor


class EmbeddingOp(Function):
    """weight[indices]; the rows picked add their gradients up, except `padding_idx`'s."""

    op = "embedding"
    saves_others = True  # the indices

    def forward(self, weight, indices, padding_idx):
        self.shape, self.indices, self.padding_idx = weight.shape, indices, padding_idx
        return weight[indices]

    def backward(self, g):
        out = _xp(g).zeros(self.shape, dtype=g.dtype)
        backend.index_add(out, self.indices, g)  # repeated indices add up
        if self.padding_idx is not None:
            out[self.padding_idx] = 0  # PyTorch leaves the padding vector untrained
        return (out,)


def embedding(input, weight, padding_idx=None) -> Tensor:
    """The rows of `weight` at the integer indices `input`; `padding_idx`'s row gets no
    gradient."""
    if input._data.dtype.name not in ("int64", "int32"):  # PyTorch's error, type and words
        raise RuntimeError(
            "Expected tensor for argument #1 'indices' to have one of the following scalar "
            f"types: Long, Int; but got {input.dtype} instead (while checking arguments for "
            "embedding)"
        )
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
    return EmbeddingOp.apply(weight, indices=input._data, padding_idx=padding_idx)
