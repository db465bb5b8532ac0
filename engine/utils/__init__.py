"""Utilities with PyTorch's names: `engine.utils.data`."""

from engine.utils import data

__all__ = ["data"]
