"""The base of the image datasets: images in `.data`, labels in `.targets`, batched fast."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from engine.tensor import Tensor
from engine.utils.data import Dataset, default_collate

DIGIT_CLASSES = [
    "0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
    "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine",
]  # fmt: skip


class VisionDataset(Dataset):
    """Labelled images; an item is (image tensor (C, H, W) float32 in [0, 1], int label).

    `transform` gets that image tensor and `target_transform` the int label. When
    the transform works on batches too (`ToTensor`, `Normalize`, a `Compose` of
    them) and there is no `target_transform`, `get_batch` builds a whole batch in
    one fancy-index and one call of the transform: this is what DataLoader uses.
    """

    classes: list[str] = []
    data: Tensor
    targets: Tensor

    def __init__(self, transform: Callable | None = None, target_transform: Callable | None = None):
        self.transform = transform
        self.target_transform = target_transform

    def _images(self, index) -> np.ndarray:
        """Images at `index` (an int or an index array) as float32 (..., C, H, W) in [0, 1]."""
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> tuple:
        index = int(index)
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} is out of range for {len(self)} images")
        image = Tensor._make(self._images(index), False, None)
        target = int(self.targets._data[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def get_batch(self, indices) -> list:
        """[images (B, C, H, W), labels (B,) int64] for `indices`, as default_collate would give."""
        if self.target_transform is not None or not (
            self.transform is None or getattr(self.transform, "batchable", False)
        ):
            return default_collate([self[i] for i in indices])
        index = np.asarray(indices, dtype=np.int64)
        images = Tensor._make(self._images(index), False, None)
        if self.transform is not None:
            images = self.transform(images)
        return [images, Tensor._make(self.targets._data[index], False, None)]

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.classes)}

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"Dataset {type(self).__name__}", f"Number of datapoints: {len(self)}"]
        lines += [line for line in self.extra_repr().splitlines() if line]
        if self.transform is not None:
            lines.append(f"Transform: {self.transform!r}")
        if self.target_transform is not None:
            lines.append(f"Target transform: {self.target_transform!r}")
        return "\n    ".join(lines)
