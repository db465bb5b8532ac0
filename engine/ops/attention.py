"""Scaled dot-product attention, composed of matmul, softmax and dropout."""

from __future__ import annotations

import math

from engine.dtypes import scalar_name
from engine.ops.activation import softmax
from engine.ops.dropout import dropout
from engine.ops.elementwise import _xp, where
from engine.ops.matmul import matmul
from engine.ops.movement import expand, reshape, transpose, unsqueeze
from engine.tensor import Tensor


def _names(*tensors) -> list[str]:
    return [scalar_name(t._data.dtype).lower() for t in tensors]


def _check(query, key, value, attn_mask, is_causal) -> None:
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise RuntimeError(
            "Expected query, key, and value to all be at least 2 dimensional, but got "
            f"query.dim: {query.ndim} key.dim: {key.ndim} and value.dim: {value.ndim} instead."
        )
    if not query.dtype == key.dtype == value.dtype:
        q, k, v = _names(query, key, value)
        raise RuntimeError(
            "Expected query, key, and value to have the same dtype, but got query.dtype: "
            f"{q} key.dtype: {k} and value.dtype: {v} instead."
        )
    if query._data.dtype.kind != "f":
        raise RuntimeError(
            f"scaled_dot_product_attention: expected a floating point query, got {query.dtype}"
        )
    if attn_mask is not None:
        if is_causal:
            raise RuntimeError(
                "_scaled_dot_product_attention: Explicit attn_mask should not be set when "
                "is_causal=True"
            )
        if attn_mask._data.dtype.kind != "b" and attn_mask.dtype != query.dtype:
            m, q = _names(attn_mask, query)
            raise RuntimeError(
                "Expected attn_mask dtype to be bool or float or to match query dtype, but got "
                f"attn_mask.dtype: {m} and  query.dtype: {q} instead."
            )


def _repeat_heads(t: Tensor, times: int) -> Tensor:
    """Each head (dim -3) repeated `times` times in a row, as repeat_interleave does."""
    shape = tuple(t.shape)
    wide = expand(unsqueeze(t, -3), *shape[:-2], times, *shape[-2:])
    return reshape(wide, *shape[:-3], shape[-3] * times, *shape[-2:])


def scaled_dot_product_attention(
    query,
    key,
    value,
    attn_mask=None,
    dropout_p=0.0,
    is_causal=False,
    *,
    scale=None,
    enable_gqa=False,
):
    """softmax(query @ key^T * scale + mask) @ value; a row that every position is masked out
    of gives zeros, as PyTorch's does."""
    _check(query, key, value, attn_mask, is_causal)
    if enable_gqa and query.ndim >= 3 and key.shape[-3] != query.shape[-3]:
        heads, kv_heads = query.shape[-3], key.shape[-3]
        if heads % kv_heads or heads % value.shape[-3]:
            raise RuntimeError(
                f"Number of heads in key and value must divide the number of heads in query "
                f"({heads}), got {kv_heads} and {value.shape[-3]}"
            )
        key = _repeat_heads(key, heads // kv_heads)
        value = _repeat_heads(value, heads // value.shape[-3])
    factor = 1 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = matmul(query, transpose(key, -2, -1)) * factor
    length, source = query.shape[-2], key.shape[-2]
    xp = _xp(query._data)
    if is_causal:
        causal = xp.tril(xp.ones((length, source), dtype=bool))
        scores = where(Tensor._make(causal, False, None), scores, -math.inf)
    if attn_mask is not None:
        if attn_mask._data.dtype.kind == "b":
            scores = where(attn_mask, scores, -math.inf)
        else:
            scores = scores + attn_mask
    # rows with nothing to attend to: softmax of a finite stand-in, then zeros
    empty = Tensor._make((scores._data == -math.inf).all(axis=-1, keepdims=True), False, None)
    if bool(empty._data.any()):
        weights = where(empty, 0.0, softmax(where(empty, 0.0, scores), dim=-1))
    else:
        weights = softmax(scores, dim=-1)
    if dropout_p > 1:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {dropout_p}")
    if dropout_p > 0:
        weights = dropout(weights, dropout_p, training=True)
    return matmul(weights, value)
