"""MultiheadAttention, TransformerEncoderLayer and TransformerEncoder."""

from __future__ import annotations

from engine.nn.module import Module


class MultiheadAttention(Module):
    pass


class TransformerEncoderLayer(Module):
    pass


class TransformerEncoder(Module):
    pass
