"""utils.data samplers and loader options against torch; CIFAR-10 binary files, ImageFolder
and the geometric transforms."""

from __future__ import annotations

import os
from collections import Counter

import numpy as np
import pytest

import engine
from engine.datasets import CIFAR10, ImageFolder, transforms
from engine.datasets.cifar import read_cifar_batch
from engine.datasets.mnist import CorruptDatasetError, DatasetNotFoundError, DownloadError
from engine.utils import data

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch")
tdata = torch.utils.data


class Numbers:
    """Sample i is (i, {'sq': i*i, 'arr': array}), to collate tuples, dicts and arrays."""

    def __init__(self, n=10):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return i, {"sq": i * i, "arr": np.full((2, 3), i, dtype=np.int32)}


def as_numpy(x):
    if isinstance(x, dict):
        return {k: as_numpy(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [as_numpy(v) for v in x]
    return x.numpy() if hasattr(x, "numpy") else x


def assert_same_batches(ours, theirs):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        a, b = as_numpy(a), as_numpy(b)
        assert type(a) is type(b)
        if isinstance(a, dict):
            assert a.keys() == b.keys()
            assert_same_batches(list(a.values()), list(b.values()))
        elif isinstance(a, list):
            assert_same_batches(a, b)
        elif isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)
            assert str(a.dtype) == str(b.dtype)
        else:
            assert a == b


# ----- DataLoader options ---------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs",
    [
        dict(batch_size=3),
        dict(batch_size=3, drop_last=True),
        dict(batch_size=4, sampler=[9, 0, 3, 3, 7]),
        dict(batch_sampler=[[1, 2], [5], [0, 9, 8]]),
        dict(batch_size=None),
        dict(batch_size=2, collate_fn=lambda samples: [s[0] for s in samples]),
    ],
)
def test_loader_batches_match_torch(kwargs):
    ours = list(data.DataLoader(Numbers(), **kwargs))
    theirs = list(tdata.DataLoader(Numbers(), **kwargs))
    assert_same_batches(ours, theirs)
    assert len(data.DataLoader(Numbers(), **kwargs)) == len(tdata.DataLoader(Numbers(), **kwargs))


def test_loader_with_batch_sampler_object_and_sampler_object():
    sampler = data.BatchSampler(data.SequentialSampler(range(7)), 3, drop_last=False)
    t_sampler = tdata.BatchSampler(tdata.SequentialSampler(range(7)), 3, drop_last=False)
    assert list(sampler) == list(t_sampler) and len(sampler) == len(t_sampler)
    ours = list(data.DataLoader(Numbers(7), batch_sampler=sampler))
    assert_same_batches(ours, list(tdata.DataLoader(Numbers(7), batch_sampler=t_sampler)))
    loader = data.DataLoader(Numbers(), sampler=data.SubsetRandomSampler([1, 4, 6]), batch_size=2)
    seen = [int(i) for batch in loader for i in batch[0]]
    assert sorted(seen) == [1, 4, 6]


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(batch_sampler=[[0]], batch_size=2),
        dict(batch_sampler=[[0]], shuffle=True),
        dict(batch_sampler=[[0]], sampler=[0]),
        dict(batch_sampler=[[0]], drop_last=True),
        dict(sampler=[0, 1], shuffle=True),
        dict(batch_size=None, drop_last=True),
    ],
)
def test_loader_option_conflicts_raise_value_error_as_torch(kwargs):
    with pytest.raises(ValueError):
        tdata.DataLoader(Numbers(), **kwargs)
    with pytest.raises(ValueError):
        data.DataLoader(Numbers(), **kwargs)


def test_default_collate_matches_torch_on_ints_arrays_tuples_dicts():
    samples = [Numbers()[i] for i in range(4)]
    assert_same_batches([data.default_collate(samples)], [tdata.default_collate(samples)])
    arrays = [np.arange(6, dtype=np.float64).reshape(2, 3) + i for i in range(3)]
    assert_same_batches([data.default_collate(arrays)], [tdata.default_collate(arrays)])
    flags = [True, False, True]
    assert_same_batches([data.default_collate(flags)], [tdata.default_collate(flags)])
    with pytest.raises(TypeError):
        tdata.default_collate([object(), object()])
    with pytest.raises(TypeError):
        data.default_collate([object(), object()])


# ----- samplers -------------------------------------------------------------------------
def test_weighted_random_sampler_follows_the_weights():
    weights = [0.0, 1.0, 3.0, 6.0]
    sampler = data.WeightedRandomSampler(
        weights, 20000, generator=engine.Generator().manual_seed(1)
    )
    drawn = list(sampler)
    assert len(sampler) == len(drawn) == 20000
    counts = Counter(drawn)
    assert counts[0] == 0
    for i, w in enumerate(weights[1:], 1):
        assert abs(counts[i] / 20000 - w / 10) < 0.02
    assert isinstance(sampler.weights, engine.Tensor) and sampler.weights.dtype == engine.float64


def test_weighted_random_sampler_without_replacement():
    sampler = data.WeightedRandomSampler(engine.tensor([1.0, 2.0, 0.0, 5.0]), 3, replacement=False)
    assert sorted(sampler) == [0, 1, 3]
    all_four = list(data.WeightedRandomSampler([1.0, 2.0, 0.0, 5.0], 4, replacement=False))
    assert sorted(all_four[:3]) == [0, 1, 3] and all_four[3] == 2  # zero weight last, as torch
    for n in (5,):
        with pytest.raises(RuntimeError):
            list(data.WeightedRandomSampler([1.0, 2.0, 0.0, 5.0], n, replacement=False))
        with pytest.raises(RuntimeError):
            list(tdata.WeightedRandomSampler([1.0, 2.0, 0.0, 5.0], n, replacement=False))
    with pytest.raises(RuntimeError):
        list(data.WeightedRandomSampler([0.0, 0.0], 1))
    with pytest.raises(RuntimeError):
        list(tdata.WeightedRandomSampler([0.0, 0.0], 1))


@pytest.mark.parametrize(
    "args, kwargs",
    [
        (([1.0, 2.0], 0), {}),
        (([1.0, 2.0], 2.5), {}),
        (([1.0, 2.0], 3), {"replacement": 1}),
        (([[1.0, 2.0]], 3), {}),
    ],
)
def test_weighted_random_sampler_errors_as_torch(args, kwargs):
    with pytest.raises(ValueError) as t_err:
        tdata.WeightedRandomSampler(*args, **kwargs)
    with pytest.raises(ValueError) as err:
        data.WeightedRandomSampler(*args, **kwargs)
    assert str(err.value) == str(t_err.value)


def test_random_sampler_replacement_and_num_samples():
    sampler = data.RandomSampler(range(5), replacement=True, num_samples=50)
    drawn = list(sampler)
    assert len(drawn) == len(sampler) == 50 and set(drawn) <= set(range(5))
    sampler = data.RandomSampler(range(5), num_samples=12)
    drawn = list(sampler)
    assert len(drawn) == 12 and sorted(drawn[:5]) == list(range(5))
    with pytest.raises(ValueError):
        tdata.RandomSampler(range(5), num_samples=0)
    with pytest.raises(ValueError):
        data.RandomSampler(range(5), num_samples=0)


def test_concat_subset_and_random_split_as_torch():
    a, b = Numbers(3), Numbers(4)
    ours, theirs = data.ConcatDataset([a, b]), tdata.ConcatDataset([a, b])
    assert len(ours) == len(theirs) == 7
    for i in range(-7, 7):
        assert ours[i][0] == theirs[i][0]
    with pytest.raises(ValueError):
        theirs[-8]
    with pytest.raises(ValueError):
        ours[-8]
    with pytest.raises(IndexError):
        theirs[7]
    with pytest.raises(IndexError):
        ours[7]
    for lengths in ([0.5, 0.3, 0.2], [0.34, 0.33, 0.33], [3, 4]):
        splits = data.random_split(ours, lengths, generator=engine.Generator().manual_seed(0))
        t_splits = tdata.random_split(theirs, lengths)
        assert [len(s) for s in splits] == [len(s) for s in t_splits]
        assert sorted(i for s in splits for i in s.indices) == list(range(7))


# ----- CIFAR-10, binary ----------------------------------------------------------------
def write_batch(path, labels, seed):
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(len(labels), 3072), dtype=np.uint8)
    records = np.concatenate([np.asarray(labels, np.uint8)[:, None], pixels], axis=1)
    path.write_bytes(records.tobytes())
    return pixels.reshape(-1, 3, 32, 32)


@pytest.fixture
def cifar_root(tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    train = [write_batch(folder / f"data_batch_{i}.bin", [i, 9, 0], i) for i in range(1, 6)]
    test = write_batch(folder / "test_batch.bin", [3, 1], 99)
    return tmp_path, np.concatenate(train), test


def test_cifar10_reads_the_binary_records(cifar_root):
    root, train_pixels, test_pixels = cifar_root
    train = CIFAR10(root)
    assert len(train) == 15 and train.data.shape == (15, 32, 32, 3)
    assert train.data.dtype == engine.uint8 and train.targets.dtype == engine.int64
    assert train.targets.tolist()[:6] == [1, 9, 0, 2, 9, 0]
    image, label = train[4]
    assert label == 9 and image.shape == (3, 32, 32) and image.dtype == engine.float32
    np.testing.assert_allclose(image.numpy(), train_pixels[4] / 255, rtol=1e-6)
    np.testing.assert_array_equal(train.data.numpy()[4], train_pixels[4].transpose(1, 2, 0))
    test = CIFAR10(str(root), train=False, transform=transforms.Normalize([0.5] * 3, [0.5] * 3))
    image, label = test[1]
    assert label == 1
    np.testing.assert_allclose(image.numpy(), (test_pixels[1] / 255 - 0.5) / 0.5, atol=1e-6)
    x, y = next(iter(data.DataLoader(test, batch_size=2)))
    assert x.shape == (2, 3, 32, 32) and y.tolist() == [3, 1]
    assert test.classes[0] == "airplane" and test.class_to_idx["truck"] == 9


def test_cifar10_missing_files_name_the_folder_and_the_files(tmp_path):
    with pytest.raises(DatasetNotFoundError) as err:
        CIFAR10(tmp_path)
    message = str(err.value)
    assert os.path.join(str(tmp_path), "cifar-10-batches-bin") in message
    assert "data_batch_1.bin" in message and "data_batch_5.bin" in message
    assert "cifar-10-binary.tar.gz" in message
    with pytest.raises(DownloadError, match="cannot download"):
        CIFAR10(tmp_path, train=False, download=True)


def test_cifar10_files_directly_under_root(tmp_path):
    write_batch(tmp_path / "test_batch.bin", [7], 1)
    assert CIFAR10(tmp_path, train=False, download=True).targets.tolist() == [7]


def test_cifar10_damaged_files_are_refused(tmp_path):
    bad = tmp_path / "test_batch.bin"
    bad.write_bytes(b"\x01" * 3072)
    with pytest.raises(CorruptDatasetError, match="3073-byte"):
        CIFAR10(tmp_path, train=False)
    bad.write_bytes(bytes([12]) + b"\x00" * 3072)
    with pytest.raises(CorruptDatasetError, match="label 12"):
        read_cifar_batch(bad)
    bad.unlink()
    bad.mkdir()
    with pytest.raises(CorruptDatasetError, match="folder"):
        CIFAR10(tmp_path, train=False)
    big = tmp_path / "big.bin"
    big.write_bytes(b"\x00" * (3073 * 3))
    with pytest.raises(CorruptDatasetError, match="more than"):
        read_cifar_batch(big, max_bytes=3073 * 2)


# ----- transforms on tensors -------------------------------------------------------------
def test_random_crop_with_padding_keeps_a_window_of_the_padded_image():
    engine.manual_seed(3)
    img = engine.tensor(np.arange(2 * 5 * 6, dtype=np.float32).reshape(2, 5, 6) + 1)
    crop = transforms.RandomCrop(4, padding=2)
    padded = np.pad(img.numpy(), ((0, 0), (2, 2), (2, 2)))
    windows = {
        (t, l)
        for t in range(padded.shape[1] - 3)
        for l in range(padded.shape[2] - 3)
    }  # fmt: skip
    corners = set()
    for _ in range(60):
        out = crop(img).numpy()
        assert out.shape == (2, 4, 4)
        match = [
            w for w in windows if np.array_equal(padded[:, w[0] : w[0] + 4, w[1] : w[1] + 4], out)
        ]
        assert match
        corners.add(match[0])
    assert len(corners) > 10  # the window moves


@pytest.mark.parametrize("mode", ["edge", "reflect", "symmetric"])
def test_random_crop_padding_modes(mode):
    img = engine.tensor(np.arange(9, dtype=np.float32).reshape(1, 3, 3))
    out = transforms.RandomCrop(7, padding=2, padding_mode=mode)(img)
    np.testing.assert_array_equal(
        out.numpy(), np.pad(img.numpy(), ((0, 0), (2, 2), (2, 2)), mode=mode)
    )


def test_random_crop_pad_if_needed_and_errors():
    img = engine.zeros(1, 3, 5)
    assert transforms.RandomCrop((4, 6), pad_if_needed=True)(img).shape == (1, 4, 6)
    with pytest.raises(ValueError, match="larger than input image size"):
        transforms.RandomCrop(4)(img)
    with pytest.raises(ValueError):
        transforms.RandomCrop(2, padding=(1, 2, 3))
    with pytest.raises(ValueError):
        transforms.RandomCrop(2, padding_mode="wrap")


def test_random_horizontal_flip():
    img = engine.tensor(np.arange(12, dtype=np.float32).reshape(1, 3, 4))
    np.testing.assert_array_equal(
        transforms.RandomHorizontalFlip(p=1.0)(img).numpy(), img.numpy()[..., ::-1]
    )
    assert transforms.RandomHorizontalFlip(p=0.0)(img) is img
    engine.manual_seed(0)
    flips = sum(transforms.RandomHorizontalFlip()(img) is not img for _ in range(400))
    assert 150 < flips < 250
    with pytest.raises(TypeError):
        transforms.RandomHorizontalFlip()(np.zeros((3, 4)))


@pytest.mark.parametrize(
    "shape, size",
    [
        ((3, 32, 32), 16),
        ((3, 20, 30), 10),
        ((1, 7, 5), (11, 13)),
        ((2, 3, 40, 24), 9),
        ((3, 8, 8), [24]),
    ],
)
@pytest.mark.parametrize("antialias", [True, False])
def test_resize_tensors_match_torch_bilinear(shape, size, antialias):
    x = np.random.default_rng(0).random(shape).astype(np.float32)
    out = transforms.Resize(size, antialias=antialias)(engine.tensor(x))
    t_in = torch.tensor(x) if len(shape) == 4 else torch.tensor(x)[None]
    h, w = shape[-2:]
    if isinstance(size, int) or len(size) == 1:
        s = size if isinstance(size, int) else size[0]
        target = (s, int(s * w / h)) if h <= w else (int(s * h / w), s)
    else:
        target = tuple(size)
    want = torch.nn.functional.interpolate(
        t_in, size=target, mode="bilinear", align_corners=False, antialias=antialias
    )
    want = want if len(shape) == 4 else want[0]
    assert tuple(out.shape) == tuple(want.shape)
    np.testing.assert_allclose(out.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)


def test_resize_nearest_max_size_and_uint8():
    x = np.random.default_rng(1).random((1, 6, 9)).astype(np.float32)
    out = transforms.Resize((4, 5), interpolation="nearest")(engine.tensor(x))
    want = torch.nn.functional.interpolate(torch.tensor(x)[None], size=(4, 5), mode="nearest")[0]
    np.testing.assert_array_equal(out.numpy(), want.numpy())
    assert transforms.Resize(10, max_size=12)(engine.zeros(1, 20, 40)).shape == (1, 6, 12)
    with pytest.raises(ValueError):
        transforms.Resize((4, 5), max_size=10)
    u8 = engine.tensor(np.full((3, 4, 4), 200, dtype=np.uint8))
    out = transforms.Resize(2)(u8)
    assert out.dtype == engine.uint8 and (out.numpy() == 200).all()


def test_compose_pipeline_on_a_tensor_dataset_image():
    pipeline = transforms.Compose(
        [transforms.Resize(16), transforms.RandomCrop(12, padding=1),
         transforms.RandomHorizontalFlip(), transforms.Normalize([0.5], [0.25])]
    )  # fmt: skip
    out = pipeline(engine.rand(3, 20, 20))
    assert out.shape == (3, 12, 12) and out.dtype == engine.float32
    assert "RandomCrop" in repr(pipeline)


# ----- Pillow: ImageFolder and PIL transforms ------------------------------------------
def test_image_folder_without_pillow_says_how_to_install(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_pil(name, *args, **kwargs):
        if name == "PIL" or name.startswith("PIL."):
            raise ImportError("No module named 'PIL'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pil)
    (tmp_path / "cat").mkdir()
    with pytest.raises(ImportError, match=r"pip install stepgrad\[images\]"):
        ImageFolder(tmp_path)


def test_image_folder_with_a_custom_loader_needs_no_pillow(tmp_path):
    for name, count in (("b_dog", 2), ("a_cat", 1)):
        (tmp_path / name).mkdir()
        for i in range(count):
            (tmp_path / name / f"{i}.png").write_bytes(b"x")
    (tmp_path / "a_cat" / "notes.txt").write_text("not an image")
    ds = ImageFolder(tmp_path, loader=lambda path: os.path.basename(path))
    assert ds.classes == ["a_cat", "b_dog"] and ds.class_to_idx == {"a_cat": 0, "b_dog": 1}
    assert [ds[i] for i in range(len(ds))] == [("0.png", 0), ("0.png", 1), ("1.png", 1)]
    assert ds.targets == [0, 1, 1]
    (tmp_path / "c_empty").mkdir()
    with pytest.raises(FileNotFoundError, match="c_empty"):
        ImageFolder(tmp_path, loader=str)
    assert len(ImageFolder(tmp_path, loader=str, allow_empty=True)) == 3


def test_image_folder_with_no_class_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="Couldn't find any class folder"):
        ImageFolder(tmp_path, loader=str)


@pytest.fixture
def pil():
    return pytest.importorskip("PIL.Image")


def test_image_folder_reads_png_and_jpeg(tmp_path, pil):
    rows, cols = np.mgrid[0:6, 0:8]  # smooth, so that JPEG keeps it close
    red = np.stack([200 - 10 * rows, 20 * cols, 60 + 5 * (rows + cols)], -1).astype(np.uint8)
    (tmp_path / "red").mkdir()
    (tmp_path / "gray").mkdir()
    pil.fromarray(red).save(tmp_path / "red" / "a.png")
    pil.fromarray(red).save(tmp_path / "red" / "b.JPG", quality=95)
    pil.fromarray(red[..., 0]).save(tmp_path / "gray" / "c.png")
    ds = ImageFolder(tmp_path, transform=transforms.ToTensor())
    assert ds.classes == ["gray", "red"] and len(ds) == 3
    gray, label = ds[0]
    assert label == 0 and gray.shape == (3, 6, 8)  # converted to RGB, as torchvision
    np.testing.assert_allclose(gray.numpy()[1], red[..., 0] / 255, rtol=1e-6)
    png, label = ds[1]
    assert label == 1 and png.dtype == engine.float32
    np.testing.assert_allclose(png.numpy(), red.transpose(2, 0, 1) / 255, rtol=1e-6)
    jpeg, _ = ds[2]
    assert np.abs(jpeg.numpy() - png.numpy()).mean() < 0.05
    x, y = next(iter(data.DataLoader(ds, batch_size=3)))
    assert x.shape == (3, 3, 6, 8) and y.tolist() == [0, 1, 1]
    plain, _ = ImageFolder(tmp_path)[1]
    assert plain.mode == "RGB" and plain.size == (8, 6)


def test_pil_transforms(pil):
    arr = np.random.default_rng(4).integers(0, 256, (10, 14, 3), dtype=np.uint8)
    img = pil.fromarray(arr)
    tensor = transforms.ToTensor()(img)
    np.testing.assert_allclose(tensor.numpy(), arr.transpose(2, 0, 1) / 255, rtol=1e-6)
    gray = transforms.ToTensor()(pil.fromarray(arr[..., 0]))
    assert gray.shape == (1, 10, 14)
    flipped = transforms.RandomHorizontalFlip(p=1.0)(img)
    np.testing.assert_array_equal(np.asarray(flipped), arr[:, ::-1])
    crop = transforms.RandomCrop(8, padding=2, fill=0)(img)
    assert crop.size == (8, 8) and crop.mode == "RGB"
    palette = pil.fromarray(arr).convert("P")
    padded = transforms.RandomCrop((14, 18), padding=2)(palette)
    assert padded.mode == "P" and padded.getpalette() == palette.getpalette()
    np.testing.assert_array_equal(np.asarray(padded)[2:-2, 2:-2], np.asarray(palette))
    resized = transforms.Resize(5)(img)
    assert resized.size == (7, 5)
    np.testing.assert_array_equal(np.asarray(resized), np.asarray(img.resize((7, 5), pil.BILINEAR)))


@pytest.mark.gpu
def test_tensor_transforms_on_cuda_match_cpu():
    x = np.random.default_rng(5).random((3, 12, 10)).astype(np.float32)
    cpu, gpu = engine.tensor(x), engine.tensor(x, device="cuda")
    for t in (transforms.Resize(7), transforms.Resize((5, 4), interpolation="nearest")):
        out = t(gpu)
        assert out.is_cuda
        np.testing.assert_allclose(out.cpu().numpy(), t(cpu).numpy(), rtol=1e-6)
    engine.manual_seed(2)
    crop_gpu = transforms.RandomCrop(8, padding=2, padding_mode="reflect")(gpu)
    engine.manual_seed(2)
    crop_cpu = transforms.RandomCrop(8, padding=2, padding_mode="reflect")(cpu)
    assert crop_gpu.is_cuda
    np.testing.assert_array_equal(crop_gpu.cpu().numpy(), crop_cpu.numpy())
    flipped = transforms.RandomHorizontalFlip(p=1.0)(gpu)
    np.testing.assert_array_equal(flipped.cpu().numpy(), x[..., ::-1])


def test_center_crop_takes_the_middle_and_pads_small_images():
    img = engine.tensor(np.arange(30, dtype=np.float32).reshape(1, 5, 6))
    out = transforms.CenterCrop(3)(img)
    np.testing.assert_array_equal(out.numpy(), img.numpy()[:, 1:4, 2:5])
    np.testing.assert_array_equal(transforms.CenterCrop((5, 6))(img).numpy(), img.numpy())
    grown = transforms.CenterCrop((7, 9))(img).numpy()
    assert grown.shape == (1, 7, 9)
    np.testing.assert_array_equal(grown[:, 1:6, 1:7], img.numpy())
    assert grown.sum() == img.numpy().sum()


def test_center_crop_pil(pil):
    arr = np.arange(5 * 6 * 3, dtype=np.uint8).reshape(5, 6, 3)
    out = transforms.CenterCrop(3)(pil.fromarray(arr))
    np.testing.assert_array_equal(np.asarray(out), arr[1:4, 2:5])


def test_the_classic_cifar10_training_pipeline(cifar_root):
    root, _, _ = cifar_root
    pipeline = transforms.Compose(
        [
            transforms.RandomCrop(32, padding=4),
            transforms.RandomHorizontalFlip(),
            transforms.ToTensor(),
            transforms.Normalize((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
        ]
    )
    loader = data.DataLoader(CIFAR10(root, transform=pipeline), batch_size=4, shuffle=True)
    batches = list(loader)
    assert len(batches) == 4 and [len(y) for _, y in batches] == [4, 4, 4, 3]
    x, y = batches[0]
    assert x.shape == (4, 3, 32, 32) and x.dtype == engine.float32 and y.dtype == engine.int64
