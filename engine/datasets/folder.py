"""ImageFolder: images in one subfolder per class, decoded by Pillow (an optional extra)."""

from __future__ import annotations

import io
import os
from collections.abc import Callable

from engine.files import open_regular
from engine.utils.data import Dataset

IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
# The largest image file read: a 64 MiB PNG or JPEG is far past any photo a dataset holds.
MAX_IMAGE_BYTES = 64 * 2**20


def _pillow():
    """The PIL.Image module, or ImportError saying how to install it."""
    try:
        from PIL import Image
    except ImportError:
        raise ImportError(
            "reading PNG and JPEG images needs Pillow, which is not installed: "
            "pip install stepgrad[images]  (or pip install pillow)"
        ) from None
    return Image


def pil_loader(path: str | os.PathLike):
    """The image at `path` as an RGB PIL image, the file read through `open_regular`."""
    image_module = _pillow()
    with open_regular(path, MAX_IMAGE_BYTES) as f:
        data = f.read(MAX_IMAGE_BYTES + 1)
    with image_module.open(io.BytesIO(data)) as img:
        return img.convert("RGB")


default_loader = pil_loader


def has_file_allowed_extension(filename: str, extensions: str | tuple[str, ...]) -> bool:
    """Whether `filename` ends with one of `extensions` (case-insensitive)."""
    exts = extensions if isinstance(extensions, str) else tuple(extensions)
    return filename.lower().endswith(exts)


def find_classes(directory: str | os.PathLike) -> tuple[list[str], dict[str, int]]:
    """The class folders in `directory`, sorted, and each one's index."""
    classes = sorted(entry.name for entry in os.scandir(directory) if entry.is_dir())
    if not classes:
        raise FileNotFoundError(f"Couldn't find any class folder in {directory}.")
    return classes, {name: i for i, name in enumerate(classes)}


def make_dataset(
    directory: str | os.PathLike,
    class_to_idx: dict[str, int],
    extensions: tuple[str, ...] | None = None,
    is_valid_file: Callable[[str], bool] | None = None,
    allow_empty: bool = False,
) -> list[tuple[str, int]]:
    """(path, class index) for every valid file under each class folder, in sorted order."""
    directory = os.path.expanduser(os.fspath(directory))
    if (extensions is None) == (is_valid_file is None):
        raise ValueError(
            "Both extensions and is_valid_file cannot be None or not None at the same time"
        )
    if is_valid_file is None:

        def is_valid_file(path: str) -> bool:
            return has_file_allowed_extension(path, extensions)

    samples = []
    empty = set(class_to_idx)
    for name in sorted(class_to_idx):
        folder = os.path.join(directory, name)
        if not os.path.isdir(folder):
            continue
        for root, _, files in sorted(os.walk(folder, followlinks=True)):
            for filename in sorted(files):
                path = os.path.join(root, filename)
                if is_valid_file(path):
                    samples.append((path, class_to_idx[name]))
                    empty.discard(name)
    if empty and not allow_empty:
        message = f"Found no valid file for the classes {', '.join(sorted(empty))}. "
        if extensions is not None:
            given = extensions if isinstance(extensions, str) else ", ".join(extensions)
            message += f"Supported extensions are: {given}"
        raise FileNotFoundError(message)
    return samples


class ImageFolder(Dataset):
    """Images arranged `root/<class>/<file>`; item i is (loader(path), class index).

    As in torchvision, the default loader gives an RGB PIL image, so the
    transform usually ends in `transforms.ToTensor()`. PNG and JPEG (and the
    other formats Pillow reads) need the optional extra: `pip install
    stepgrad[images]`; building the dataset without Pillow raises ImportError
    saying so.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        loader: Callable = default_loader,
        is_valid_file: Callable[[str], bool] | None = None,
        allow_empty: bool = False,
    ):
        if loader is default_loader:
            _pillow()  # fail now, with the install hint, not at the first item
        self.root = os.path.expanduser(os.fspath(root))
        self.transform = transform
        self.target_transform = target_transform
        self.loader = loader
        self.extensions = IMG_EXTENSIONS if is_valid_file is None else None
        self.classes, self.class_to_idx = self.find_classes(self.root)
        self.samples = make_dataset(
            self.root, self.class_to_idx, self.extensions, is_valid_file, allow_empty
        )
        self.imgs = self.samples
        self.targets = [target for _, target in self.samples]

    def find_classes(self, directory: str) -> tuple[list[str], dict[str, int]]:
        """The class folders in `directory`, sorted, and each one's index."""
        return find_classes(directory)

    def __getitem__(self, index: int):
        path, target = self.samples[index]
        sample = self.loader(path)
        if self.transform is not None:
            sample = self.transform(sample)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return sample, target

    def __len__(self) -> int:
        return len(self.samples)

    def __repr__(self) -> str:
        lines = [f"Dataset {type(self).__name__}", f"Number of datapoints: {len(self)}"]
        lines.append(f"Root location: {self.root}")
        if self.transform is not None:
            lines.append(f"Transform: {self.transform!r}")
        if self.target_transform is not None:
            lines.append(f"Target transform: {self.target_transform!r}")
        return "\n    ".join(lines)
