"""Image transforms with torchvision's names: Compose, ToTensor, Normalize, Lambda."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from engine import backend
from engine.tensor import Tensor

__all__ = ["Compose", "Lambda", "Normalize", "ToTensor"]


class Compose:
    """Apply transforms one after another."""

    def __init__(self, transforms: Sequence[Callable]):
        self.transforms = list(transforms)

    @property
    def batchable(self) -> bool:
        """True when every step also works on a (B, C, H, W) batch (datasets then batch it)."""
        return all(getattr(t, "batchable", False) for t in self.transforms)

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self) -> str:
        body = "".join(f"\n    {t!r}" for t in self.transforms)
        return f"{type(self).__name__}({body}\n)"


class ToTensor:
    """A NumPy image (H, W) or (H, W, C) to a tensor (C, H, W); uint8 is scaled to [0, 1].

    Other NumPy dtypes keep their values, like torchvision. stepgrad's datasets
    already yield (C, H, W) float tensors in [0, 1], so a tensor passes through
    unchanged: a torchvision script's `ToTensor()` keeps working.
    """

    batchable = True

    def __call__(self, pic):
        if isinstance(pic, Tensor):
            return pic
        if not isinstance(pic, np.ndarray):
            raise TypeError(f"pic should be a numpy array or Tensor. Got {type(pic).__name__}")
        if pic.ndim not in (2, 3):
            raise ValueError(f"pic should be 2/3 dimensional. Got {pic.ndim} dimensions.")
        img = pic[None] if pic.ndim == 2 else pic.transpose(2, 0, 1)
        if img.dtype == np.uint8:
            img = img.astype(np.float32) / np.float32(255)
        return Tensor._make(np.ascontiguousarray(img), False, None)

    def __repr__(self) -> str:
        return "ToTensor()"


class Normalize:
    """(image - mean) / std per channel, on a float tensor (C, H, W) or a batch (B, C, H, W)."""

    batchable = True

    def __init__(self, mean: Sequence[float], std: Sequence[float], inplace: bool = False):
        self.mean = [float(m) for m in np.atleast_1d(mean)]
        self.std = [float(s) for s in np.atleast_1d(std)]
        if len(self.mean) != len(self.std):
            raise ValueError(f"Normalize: mean {self.mean} and std {self.std} differ in length")
        if any(s == 0 for s in self.std):
            raise ValueError(f"Normalize: std {self.std} has a zero, which would divide by zero")
        self.inplace = inplace

    def __call__(self, tensor: Tensor) -> Tensor:
        if not isinstance(tensor, Tensor):
            raise TypeError(
                f"Normalize expects a Tensor, got {type(tensor).__name__}; put ToTensor() first"
            )
        if not tensor.is_floating_point():
            raise TypeError(f"Input tensor should be a float tensor. Got {tensor.dtype}.")
        if tensor.ndim < 3:
            raise ValueError(
                f"Normalize expects a tensor image (C, H, W) or batch (B, C, H, W), "
                f"got shape {tuple(tensor.shape)}"
            )
        channels = tensor.shape[-3]
        if len(self.mean) not in (1, channels):
            raise ValueError(
                f"Normalize: {len(self.mean)} means for an image with {channels} channels"
            )
        arr = tensor._data
        xp = backend.array_module(arr)
        mean = xp.asarray(self.mean, dtype=arr.dtype).reshape(-1, 1, 1)
        std = xp.asarray(self.std, dtype=arr.dtype).reshape(-1, 1, 1)
        if self.inplace and not tensor.requires_grad:
            arr -= mean
            arr /= std
            return tensor
        return (tensor - Tensor._make(mean, False, None)) / Tensor._make(std, False, None)

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean}, std={self.std})"


class Lambda:
    """Apply a user function (never batched: datasets call it sample by sample)."""

    def __init__(self, lambd: Callable):
        if not callable(lambd):
            raise TypeError(f"Argument lambd should be callable, got {type(lambd).__name__}")
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)

    def __repr__(self) -> str:
        return "Lambda()"
