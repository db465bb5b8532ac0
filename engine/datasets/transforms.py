"""Image transforms with torchvision's names: Compose, ToTensor, Normalize, Lambda,
CenterCrop, RandomCrop, RandomHorizontalFlip and Resize."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from enum import Enum

import numpy as np

from engine import backend, random
from engine.tensor import Tensor

__all__ = [
    "CenterCrop",
    "Compose",
    "InterpolationMode",
    "Lambda",
    "Normalize",
    "RandomCrop",
    "RandomHorizontalFlip",
    "Resize",
    "ToTensor",
]


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
    """A PIL image or NumPy image (H, W) or (H, W, C) to a tensor (C, H, W); uint8 is
    scaled to [0, 1].

    Other NumPy dtypes keep their values, like torchvision. stepgrad's datasets
    already yield (C, H, W) float tensors in [0, 1], so a tensor passes through
    unchanged: a torchvision script's `ToTensor()` keeps working.
    """

    batchable = True

    def __call__(self, pic):
        if isinstance(pic, Tensor):
            return pic
        if _is_pil(pic):
            pic = np.array(pic.convert("L") if pic.mode == "1" else pic)
            if pic.dtype == np.bool_:
                pic = pic.astype(np.uint8) * 255
        if not isinstance(pic, np.ndarray):
            raise TypeError(
                f"pic should be PIL Image, a numpy array or Tensor. Got {type(pic).__name__}"
            )
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
        self.mean, self.std = mean, std  # as given, which the repr shows, like torchvision's
        self._mean = [float(m) for m in np.atleast_1d(mean)]
        self._std = [float(s) for s in np.atleast_1d(std)]
        if len(self._mean) != len(self._std):
            raise ValueError(f"Normalize: mean {self._mean} and std {self._std} differ in length")
        if any(s == 0 for s in self._std):
            raise ValueError(f"Normalize: std {self._std} has a zero, which would divide by zero")
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
        if len(self._mean) not in (1, channels):
            raise ValueError(
                f"Normalize: {len(self._mean)} means for an image with {channels} channels"
            )
        arr = tensor._data
        xp = backend.array_module(arr)
        mean = xp.asarray(self._mean, dtype=arr.dtype).reshape(-1, 1, 1)
        std = xp.asarray(self._std, dtype=arr.dtype).reshape(-1, 1, 1)
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


# ----- geometry: crops, flips, resizing ------------------------------------------------
def _is_pil(img) -> bool:
    return type(img).__module__.startswith("PIL.") and hasattr(img, "getbands")


def _check_image(img, name: str) -> None:
    if isinstance(img, Tensor):
        if img.ndim < 2:
            raise ValueError(f"{name}: a tensor image needs (..., H, W), got {tuple(img.shape)}")
    elif not _is_pil(img):
        raise TypeError(f"img should be PIL Image or Tensor. Got {type(img)}")


def _image_size(img) -> tuple[int, int]:
    """(height, width) of a tensor (..., H, W) or a PIL image."""
    if isinstance(img, Tensor):
        return int(img.shape[-2]), int(img.shape[-1])
    width, height = img.size
    return height, width


def _pair(size, name: str) -> tuple[int, int]:
    if isinstance(size, numbers.Number):
        return int(size), int(size)
    if isinstance(size, Sequence) and len(size) == 1:
        return int(size[0]), int(size[0])
    if isinstance(size, Sequence) and len(size) == 2:
        return int(size[0]), int(size[1])
    raise ValueError(f"{name}: please provide only two dimensions (h, w) for size, got {size!r}")


def _as_array(img):
    """A tensor's array, or a PIL image's as (H, W) or (H, W, C) uint8."""
    return img._data if isinstance(img, Tensor) else np.asarray(img)


def _like(img, array):
    """`array` in `img`'s kind: a tensor (outside any graph) or a PIL image of its mode."""
    if isinstance(img, Tensor):
        return Tensor._make(array, False, None)
    from PIL import Image

    array = np.ascontiguousarray(array)
    if img.mode == "P":  # palette indices: keep the palette
        out = Image.frombytes("P", (array.shape[1], array.shape[0]), array.tobytes())
        out.putpalette(img.getpalette())
        return out
    return Image.fromarray(array)  # the mode follows from the array: L, RGB or RGBA


def _pad(img, sides: tuple[int, int, int, int], fill: float = 0, mode: str = "constant"):
    """`img` padded by (left, top, right, bottom) pixels, in numpy's pad `mode`."""
    left, top, right, bottom = sides
    arr = _as_array(img)
    xp = backend.array_module(arr)
    # a PIL array is (H, W) or (H, W, C); a tensor's image axes are its last two
    rows, cols = (0, 1) if not isinstance(img, Tensor) else (arr.ndim - 2, arr.ndim - 1)
    widths = [(0, 0)] * arr.ndim
    widths[rows], widths[cols] = (top, bottom), (left, right)
    if mode == "constant":
        return _like(img, xp.pad(arr, widths, mode="constant", constant_values=fill))
    return _like(img, xp.pad(arr, widths, mode=mode))


def _crop(img, top: int, left: int, height: int, width: int):
    if not isinstance(img, Tensor):
        return img.crop((left, top, left + width, top + height))
    return _like(img, img._data[..., top : top + height, left : left + width].copy())


class CenterCrop:
    """Crop the central `size` (h, w) window; an image smaller than that is padded with 0."""

    def __init__(self, size: int | Sequence[int]):
        self.size = _pair(size, "CenterCrop")

    def __call__(self, img):
        _check_image(img, "CenterCrop")
        crop_h, crop_w = self.size
        height, width = _image_size(img)
        if crop_h > height or crop_w > width:
            grow_h, grow_w = max(crop_h - height, 0), max(crop_w - width, 0)
            sides = (grow_w // 2, grow_h // 2, (grow_w + 1) // 2, (grow_h + 1) // 2)
            img = _pad(img, sides)
            height, width = _image_size(img)
        top = int(round((height - crop_h) / 2.0))
        left = int(round((width - crop_w) / 2.0))
        return _crop(img, top, left, crop_h, crop_w)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size})"


class RandomCrop:
    """Crop a random `size` (h, w) window, after padding by `padding` when given.

    `padding` is one number (all sides), (left/right, top/bottom) or (left, top,
    right, bottom); `padding_mode` is 'constant' (with `fill`), 'edge', 'reflect'
    or 'symmetric'. `pad_if_needed` pads an image smaller than the crop.
    """

    def __init__(
        self,
        size: int | Sequence[int],
        padding: int | Sequence[int] | None = None,
        pad_if_needed: bool = False,
        fill: float = 0,
        padding_mode: str = "constant",
    ):
        self.size = _pair(size, "RandomCrop")
        if padding is not None and not isinstance(padding, numbers.Number | tuple | list):
            raise TypeError(f"Got inappropriate padding arg: {padding!r}")
        if isinstance(padding, tuple | list) and len(padding) not in (1, 2, 4):
            raise ValueError(
                f"Padding must be an int or a 1, 2, or 4 element tuple, not a {len(padding)} "
                "element tuple"
            )
        if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
            raise ValueError(
                "Padding mode should be either constant, edge, reflect or symmetric, "
                f"got {padding_mode!r}"
            )
        self.padding = padding
        self.pad_if_needed = pad_if_needed
        self.fill = fill
        self.padding_mode = padding_mode

    def _pad(self, img, left: int, top: int, right: int, bottom: int):
        return _pad(img, (left, top, right, bottom), self.fill, self.padding_mode)

    def __call__(self, img):
        _check_image(img, "RandomCrop")
        if self.padding is not None:
            p = self.padding
            p = [p] if isinstance(p, numbers.Number) else list(p)
            left, top, right, bottom = {1: p * 4, 2: p * 2, 4: p}[len(p)]
            img = self._pad(img, int(left), int(top), int(right), int(bottom))
        height, width = _image_size(img)
        crop_h, crop_w = self.size
        if self.pad_if_needed and width < crop_w:
            img = self._pad(img, crop_w - width, 0, crop_w - width, 0)
        if self.pad_if_needed and height < crop_h:
            img = self._pad(img, 0, crop_h - height, 0, crop_h - height)
        height, width = _image_size(img)
        if height < crop_h or width < crop_w:
            raise ValueError(
                f"Required crop size {(crop_h, crop_w)} is larger than input image size "
                f"{(height, width)}"
            )
        rng = random._rng(None)
        top = int(rng.integers(0, height - crop_h + 1))
        left = int(rng.integers(0, width - crop_w + 1))
        return _crop(img, top, left, crop_h, crop_w)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Mirror the image left to right with probability `p`."""

    def __init__(self, p: float = 0.5):
        self.p = p

    def __call__(self, img):
        _check_image(img, "RandomHorizontalFlip")
        if random._rng(None).random() >= self.p:
            return img
        if not isinstance(img, Tensor):
            from PIL import Image

            return img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        return _like(img, img._data[..., ::-1].copy())

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p})"


class InterpolationMode(Enum):
    """How Resize computes new pixels (torchvision's names)."""

    NEAREST = "nearest"
    BILINEAR = "bilinear"


def _resize_weights(in_size: int, out_size: int, antialias: bool) -> np.ndarray:
    """The (out, in) matrix of bilinear weights, with half-pixel centres.

    With `antialias`, shrinking widens the triangle filter to the scale factor, so
    every input pixel counts (Pillow's and torch's antialiased bilinear); without
    it, each output pixel mixes the two nearest input pixels.
    """
    scale = in_size / out_size
    support = max(scale, 1.0) if antialias else 1.0
    weights = np.zeros((out_size, in_size))
    for i in range(out_size):
        centre = (i + 0.5) * scale
        if not antialias:  # plain bilinear: the source coordinate, clamped at the edges
            src = min(max(centre - 0.5, 0.0), in_size - 1)
            low = int(math.floor(src))
            high = min(low + 1, in_size - 1)
            weights[i, low] += 1 - (src - low)
            weights[i, high] += src - low
            continue
        first = max(int(centre - support + 0.5), 0)
        last = min(int(centre + support + 0.5), in_size)
        taps = np.arange(first, last)
        w = np.clip(1 - np.abs((taps - centre + 0.5) / support), 0, None)
        weights[i, first:last] = w / w.sum()
    return weights


class Resize:
    """Resize to `size`: (h, w), or one number for the shorter side, keeping the aspect
    ratio (the longer side then at most `max_size`). PIL images go through Pillow;
    tensors (..., H, W) through antialiased bilinear resampling, as torchvision's.
    """

    batchable = True

    def __init__(
        self,
        size: int | Sequence[int],
        interpolation: InterpolationMode | str = InterpolationMode.BILINEAR,
        max_size: int | None = None,
        antialias: bool | None = True,
    ):
        if not isinstance(size, int | Sequence):
            raise TypeError(f"Size should be int or sequence. Got {type(size)}")
        if isinstance(size, Sequence) and len(size) not in (1, 2):
            raise ValueError("If size is a sequence, it should have 1 or 2 values")
        if max_size is not None and isinstance(size, Sequence) and len(size) == 2:
            raise ValueError(
                "max_size should only be passed if size specifies the length of the smaller "
                f"edge, i.e. size should be an int or a sequence of length 1; got size={size}"
            )
        self.size = size
        self.interpolation = InterpolationMode(
            interpolation.value if isinstance(interpolation, InterpolationMode) else interpolation
        )
        self.max_size = max_size
        self.antialias = antialias

    def _output_size(self, height: int, width: int) -> tuple[int, int]:
        if isinstance(self.size, Sequence) and len(self.size) == 2:
            return int(self.size[0]), int(self.size[1])
        requested = int(self.size if isinstance(self.size, int) else self.size[0])
        short, long = (height, width) if height <= width else (width, height)
        new_short, new_long = requested, int(requested * long / short)
        if self.max_size is not None:
            if self.max_size <= requested:
                raise ValueError(
                    f"max_size = {self.max_size} must be strictly greater than the requested "
                    f"size for the smaller edge size = {self.size}"
                )
            if new_long > self.max_size:
                new_short, new_long = int(self.max_size * new_short / new_long), self.max_size
        return (new_short, new_long) if height <= width else (new_long, new_short)

    def __call__(self, img):
        _check_image(img, "Resize")
        height, width = _image_size(img)
        out_h, out_w = self._output_size(height, width)
        if (out_h, out_w) == (height, width):
            return img
        if not isinstance(img, Tensor):
            from PIL import Image

            method = (
                Image.NEAREST if self.interpolation is InterpolationMode.NEAREST else Image.BILINEAR
            )
            return img.resize((out_w, out_h), method)
        arr = img._data
        xp = backend.array_module(arr)
        if self.interpolation is InterpolationMode.NEAREST:
            rows = np.minimum(np.floor(np.arange(out_h) * (height / out_h)), height - 1)
            cols = np.minimum(np.floor(np.arange(out_w) * (width / out_w)), width - 1)
            rows = backend.to_device(rows.astype(np.int64), backend.device_of(arr))
            cols = backend.to_device(cols.astype(np.int64), backend.device_of(arr))
            return _like(img, arr[..., rows, :][..., cols])
        work = arr if arr.dtype.kind == "f" else arr.astype(np.float32)
        device = backend.device_of(arr)
        antialias = bool(self.antialias)
        w_rows = backend.to_device(_resize_weights(height, out_h, antialias), device)
        w_cols = backend.to_device(_resize_weights(width, out_w, antialias), device)
        out = xp.matmul(xp.matmul(w_rows.astype(work.dtype), work), w_cols.T.astype(work.dtype))
        if arr.dtype.kind != "f":
            info = np.iinfo(arr.dtype)
            out = xp.clip(xp.round(out), info.min, info.max).astype(arr.dtype)
        return _like(img, out)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(size={self.size}, interpolation={self.interpolation.value}, "
            f"max_size={self.max_size}, antialias={self.antialias})"
        )
