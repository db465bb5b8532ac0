"""engine.datasets: the shipped digits, MNIST/Fashion-MNIST from IDX files, toy sets, transforms."""

from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import engine
from engine.datasets import (
    MNIST,
    CorruptDatasetError,
    DatasetNotFoundError,
    Digits,
    DownloadError,
    FashionMNIST,
    make_blobs,
    make_circles,
    make_moons,
    make_spirals,
    make_xor,
    read_idx,
)
from engine.datasets import transforms as T
from engine.utils.data import DataLoader
from tests.engine.idx_files import (
    FILES,
    REAL_MNIST,
    idx_bytes,
    idx_header,
    write_file,
    write_mnist,
    zero_bomb,
)


# ----- Digits ---------------------------------------------------------------
class TestDigits:
    def test_split_sizes_and_shapes(self):
        train, test = Digits(train=True), Digits(train=False)
        assert (len(train), len(test)) == (1442, 355)
        assert tuple(train.data.shape) == (1442, 1, 8, 8) and train.data.dtype == engine.float32
        assert train.targets.dtype == engine.int64 and len(train.classes) == 10

    def test_items_are_images_in_unit_range_and_int_labels(self):
        image, label = Digits()[0]
        assert tuple(image.shape) == (1, 8, 8) and image.dtype == engine.float32
        assert isinstance(label, int) and 0 <= label <= 9
        data = Digits().data.numpy()
        assert data.min() == 0.0 and data.max() == 1.0

    def test_split_is_deterministic(self):
        a, b = Digits(train=False), Digits(train=False)
        np.testing.assert_array_equal(a.data.numpy(), b.data.numpy())
        np.testing.assert_array_equal(a.targets.numpy(), b.targets.numpy())

    def test_classes_are_balanced_in_both_splits(self):
        train = np.bincount(Digits().targets.numpy(), minlength=10)
        test = np.bincount(Digits(train=False).targets.numpy(), minlength=10)
        assert train.min() >= 140 and train.max() <= 147
        assert test.min() >= 34 and test.max() <= 36

    def test_train_and_test_images_differ(self):
        train = {row.tobytes() for row in Digits().data.numpy()}
        test = [row.tobytes() for row in Digits(train=False).data.numpy()]
        assert sum(row in train for row in test) < 5  # a few digits are drawn identically

    def test_fast_batch_path_matches_items(self):
        normalize = T.Compose([T.ToTensor(), T.Normalize((0.5,), (0.25,))])
        ds = Digits(train=False, transform=normalize)
        images, labels = next(iter(DataLoader(ds, batch_size=5)))
        expected = np.stack([ds[i][0].numpy() for i in range(5)])
        np.testing.assert_allclose(images.numpy(), expected, rtol=1e-6)
        assert labels.tolist() == [ds[i][1] for i in range(5)]

    def test_target_transform_is_applied_per_item(self):
        ds = Digits(train=False, target_transform=lambda y: y + 100)
        _, labels = next(iter(DataLoader(ds, batch_size=3)))
        assert all(v >= 100 for v in labels.tolist())

    def test_positional_train_is_refused(self):
        with pytest.raises(TypeError, match="train by keyword"):
            Digits(False)


# ----- MNIST ----------------------------------------------------------------
class TestMNIST:
    def test_reads_gzipped_files_in_torchvision_layout(self, tmp_path):
        written = write_mnist(tmp_path / "MNIST" / "raw")
        ds = MNIST(tmp_path)
        assert (
            len(ds) == 6 and ds.data.dtype == engine.uint8 and tuple(ds.data.shape) == (6, 28, 28)
        )
        np.testing.assert_array_equal(ds.data.numpy(), written["train"][0])
        assert ds.targets.dtype == engine.int64
        image, label = ds[2]
        assert tuple(image.shape) == (1, 28, 28) and image.dtype == engine.float32
        np.testing.assert_allclose(image.numpy()[0], written["train"][0][2] / 255, rtol=1e-6)
        assert label == int(written["train"][1][2])

    def test_reads_uncompressed_files_from_a_flat_folder(self, tmp_path):
        written = write_mnist(tmp_path, gz=False)
        ds = MNIST(str(tmp_path), train=False)
        assert len(ds) == 4
        np.testing.assert_array_equal(ds.targets.numpy(), written["test"][1])

    def test_transform_and_batches(self, tmp_path):
        write_mnist(tmp_path)
        ds = MNIST(tmp_path, transform=T.Compose([T.ToTensor(), T.Normalize((0.1307,), (0.3081,))]))
        images, labels = next(iter(DataLoader(ds, batch_size=4)))
        assert tuple(images.shape) == (4, 1, 28, 28)
        np.testing.assert_allclose(images.numpy()[1], ds[1][0].numpy(), rtol=1e-6)

    def test_fashion_mnist_uses_its_own_folder(self, tmp_path):
        write_mnist(tmp_path / "FashionMNIST" / "raw")
        ds = FashionMNIST(tmp_path)
        assert len(ds) == 6 and ds.classes[9] == "Ankle boot"
        with pytest.raises(DatasetNotFoundError):
            MNIST(tmp_path)

    def test_missing_files_list_the_paths_tried(self, tmp_path):
        with pytest.raises(FileNotFoundError) as info:
            MNIST(tmp_path)
        message = str(info.value)
        assert isinstance(info.value, DatasetNotFoundError)
        assert os.path.join(str(tmp_path), "MNIST", "raw", "train-images-idx3-ubyte.gz") in message
        assert os.path.join(str(tmp_path), "train-images-idx3-ubyte") in message
        assert "download=True" in message

    def test_bad_magic_number(self, tmp_path):
        write_mnist(tmp_path)
        labels = np.zeros(6, dtype=np.uint8)
        write_file(tmp_path / "train-labels-idx1-ubyte.gz", idx_bytes(labels, magic=0x00000803))
        with pytest.raises(
            CorruptDatasetError, match=r"train-labels-idx1-ubyte.gz: bad magic number 0x00000803"
        ):
            MNIST(tmp_path)

    def test_truncated_file(self, tmp_path):
        write_mnist(tmp_path)
        payload = idx_bytes(np.zeros((6, 28, 28), dtype=np.uint8))[:-100]
        write_file(tmp_path / "train-images-idx3-ubyte.gz", payload)
        with pytest.raises(ValueError, match=r"train-images-idx3-ubyte.gz: truncated"):
            MNIST(tmp_path)

    def test_image_and_label_counts_must_match(self, tmp_path):
        write_mnist(tmp_path)
        write_file(tmp_path / "train-labels-idx1-ubyte.gz", idx_bytes(np.zeros(5, dtype=np.uint8)))
        with pytest.raises(CorruptDatasetError, match="6 images but .* 5 labels"):
            MNIST(tmp_path)

    def test_broken_gzip(self, tmp_path):
        write_mnist(tmp_path)
        path = tmp_path / "train-images-idx3-ubyte.gz"
        path.write_bytes(path.read_bytes()[:50])
        with pytest.raises(CorruptDatasetError, match="not a valid gzip file"):
            MNIST(tmp_path)

    @pytest.mark.slow
    @pytest.mark.skipif(not REAL_MNIST.is_dir(), reason="the full MNIST files are not present")
    def test_real_mnist(self):
        train, test = MNIST(REAL_MNIST), MNIST(REAL_MNIST, train=False)
        assert (len(train), len(test)) == (60000, 10000)
        assert set(np.unique(train.targets.numpy())) == set(range(10))
        image, _ = test[0]
        assert float(image.max()) <= 1.0 and tuple(image.shape) == (1, 28, 28)


# ----- read_idx: damaged, absurd and hostile files ----------------------------
def peak_memory_of_reading(path: Path) -> tuple[int, str]:
    """Peak resident memory in MB of a fresh interpreter that reads `path`, and its report.

    The peak is the child's own VmHWM: rusage's maxrss would count the parent's memory,
    which a forked child holds until it runs the new interpreter.
    """
    script = (
        "import sys\n"
        "from engine.datasets import CorruptDatasetError, read_idx\n"
        "try:\n"
        "    print('shape', read_idx(sys.argv[1], ndim=3).shape)\n"
        "except CorruptDatasetError as err:\n"
        "    print(err)\n"
        "status = open('/proc/self/status').read().split('VmHWM:')[1]\n"
        "print(int(status.split()[0]) // 1024)\n"
    )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    report, megabytes = done.stdout.strip().rsplit("\n", 1)
    return int(megabytes), report.strip()


class TestReadIdx:
    def test_big_endian_types_are_read_in_native_order(self, tmp_path):
        values = np.array([[-2, 70000], [3, 2**31 - 1]], dtype=">i4")
        path = tmp_path / "ints.idx"
        path.write_bytes(idx_header(0x0C02, values.shape) + values.tobytes())
        array = read_idx(path, ndim=2, type_code=0x0C)
        assert array.dtype == np.dtype("int32") and array.dtype.isnative
        np.testing.assert_array_equal(array, values)
        array[0, 0] = 5  # writable

    @pytest.mark.parametrize("gz", [False, True])
    def test_absurd_dimensions_are_refused_before_allocating(self, tmp_path, gz):
        path = tmp_path / ("images.gz" if gz else "images")
        for shape in [(2**31, 2**31, 2**31), (2**32 - 1,) * 3, (0, 2**32 - 1, 2**32 - 1)]:
            write_file(path, idx_header(0x0803, shape) + bytes(4704))
            with pytest.raises(CorruptDatasetError, match=str(path)):
                read_idx(path, ndim=3)

    def test_a_header_past_the_bound_names_it(self, tmp_path):
        path = tmp_path / "images.gz"
        write_file(path, idx_header(0x0803, (400_000, 28, 28)))
        with pytest.raises(
            CorruptDatasetError, match=r"is more than the 256 MiB of data an IDX file may hold"
        ):
            read_idx(path, ndim=3)

    def test_a_file_larger_than_the_bound_is_not_read(self, tmp_path):
        path = tmp_path / "images"
        write_file(path, idx_header(0x0803, (10, 10, 100)) + bytes(10_000))
        assert read_idx(path, ndim=3, max_bytes=10_000).shape == (10, 10, 100)
        with pytest.raises(CorruptDatasetError, match=r"images: 10.0 KB, more than the 4.2 KB"):
            read_idx(path, ndim=3, max_bytes=100)
        with pytest.raises(
            CorruptDatasetError, match=r"shape \(10, 10, 100\) is more than the 9999 "
        ):
            read_idx(path, ndim=3, max_bytes=9999)

    def test_an_unknown_type_code_is_the_callers_error(self, tmp_path):
        with pytest.raises(ValueError, match="type_code must be one of 0x08, .*got 7"):
            read_idx(tmp_path / "images", ndim=3, type_code=7)

    @pytest.mark.parametrize("gz", [False, True])
    def test_a_header_claiming_more_than_the_file_holds(self, tmp_path, gz):
        path = tmp_path / ("images.gz" if gz else "images")
        write_file(path, idx_header(0x0803, (60000, 28, 28)) + bytes(4704))
        with pytest.raises(CorruptDatasetError, match=r"truncated: .*47040000 bytes.* holds 4704"):
            read_idx(path, ndim=3)

    def test_zero_items_read_as_an_empty_array(self, tmp_path):
        path = tmp_path / "images"
        write_file(path, idx_header(0x0803, (0, 28, 28)))
        assert read_idx(path, ndim=3).shape == (0, 28, 28)

    @pytest.mark.parametrize(
        "magic, says",
        [
            (0x0D01, "it is an IDX file of 1-d 32-bit floats"),
            (0x0802, "it is an IDX file of 2-d unsigned bytes"),
            (0x0701, r"expected 0x00000801 \(an IDX file of 1-d unsigned bytes\); is it"),
            (0x12340801, r"expected 0x00000801 \(an IDX file of 1-d unsigned bytes\); is it"),
        ],
    )
    def test_a_wrong_magic_number_says_what_the_file_is(self, tmp_path, magic, says):
        path = tmp_path / "labels"
        write_file(path, idx_header(magic, (6,) * (magic & 0xFF if magic < 0x10000 else 1)))
        with pytest.raises(CorruptDatasetError, match=says):
            read_idx(path, ndim=1)

    @pytest.mark.parametrize(
        "damage, message",
        [
            (lambda b: b[:-3], "not a valid gzip file"),  # cut inside the trailer
            (lambda b: b[:-8] + bytes([b[-8] ^ 1]) + b[-7:], "CRC check failed"),
            (lambda b: b + b"garbage!", "not a valid gzip file"),
            (lambda b: b[:3] + b"\x08" + b[4:10] + b"x" * 1000, "not a valid gzip file"),
        ],
        ids=["truncated", "crc", "trailing-garbage", "unterminated-name"],
    )
    def test_damaged_gzip(self, tmp_path, damage, message):
        path = tmp_path / "images.gz"
        images = np.arange(6 * 28 * 28).reshape(6, 28, 28) % 251
        path.write_bytes(damage(gzip.compress(idx_bytes(images), mtime=0)))
        with pytest.raises(CorruptDatasetError, match=message):
            read_idx(path, ndim=3)

    def test_data_after_the_declared_shape_in_a_gzip(self, tmp_path):
        path = tmp_path / "images.gz"
        write_file(path, idx_bytes(np.zeros((6, 28, 28))) + bytes(10))
        with pytest.raises(CorruptDatasetError, match=r"unexpected bytes after the data"):
            read_idx(path, ndim=3)

    @pytest.mark.parametrize("kind", ["folder", "fifo", "device"])
    def test_folders_fifos_and_devices_are_refused_without_blocking(self, tmp_path, kind):
        path = tmp_path / "train-images-idx3-ubyte.gz"
        {"folder": path.mkdir, "fifo": lambda: os.mkfifo(path)}.get(
            kind, lambda: os.symlink(os.devnull, path)
        )()
        outcome = []

        def read():
            try:
                read_idx(path, ndim=3)
            except Exception as err:
                outcome.append(err)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(timeout=10)
        assert not reader.is_alive(), f"reading a {kind} blocked"
        assert isinstance(outcome[0], CorruptDatasetError)
        assert str(outcome[0]).startswith(f"{path}: ")
        assert ("a folder" if kind == "folder" else "not a regular file") in str(outcome[0])

    def test_a_missing_file(self, tmp_path):
        with pytest.raises(DatasetNotFoundError, match="no such file"):
            read_idx(tmp_path / "nothing.gz", ndim=3)

    def test_mnist_names_a_fifo_in_place_of_a_file_instead_of_missing_it(self, tmp_path):
        write_mnist(tmp_path)
        (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
        os.mkfifo(tmp_path / "t10k-labels-idx1-ubyte.gz")
        with pytest.raises(CorruptDatasetError, match="t10k-labels-idx1-ubyte.gz: not a regular"):
            MNIST(tmp_path, train=False)
        assert len(MNIST(tmp_path)) == 6  # the training files are fine

    def test_a_file_beside_a_folder_of_the_same_stem_is_read(self, tmp_path):
        write_mnist(tmp_path)  # Kaggle's copy has a folder named like each file, beside it
        (tmp_path / "train-images-idx3-ubyte").mkdir()
        assert len(MNIST(tmp_path)) == 6

    @pytest.mark.parametrize(
        "shape, expect",
        [((60000, 28, 28), "unexpected bytes after"), ((2**20, 2**10, 2**10), "more than")],
        ids=["mnist-sized-header", "huge-header"],
    )
    def test_a_gzip_bomb_costs_no_more_memory_than_its_header_declares(
        self, tmp_path, shape, expect
    ):
        path = tmp_path / "train-images-idx3-ubyte.gz"
        zero_bomb(path, idx_header(0x0803, shape), gigabytes=3)  # 3.1 MB on disk, 3 GiB inside
        assert path.stat().st_size < 4_000_000
        megabytes, report = peak_memory_of_reading(path)
        assert expect in report
        assert megabytes < 300, f"reading a 3 GiB gzip bomb took {megabytes} MB"


# ----- downloads from a local server ----------------------------------------
class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A local HTTP server with good copies of the files under /good/ and none under /gone/."""
    served = tmp_path / "served"
    write_mnist(served / "good")
    resources = [
        (name, hashlib.md5((served / "good" / name).read_bytes()).hexdigest())
        for split in FILES.values()
        for name in (split[0] + ".gz", split[1] + ".gz")
    ]
    for variable in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(variable, "127.0.0.1,localhost")
    handler = functools.partial(QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setattr(MNIST, "resources", resources)
    yield base
    server.shutdown()
    server.server_close()


class TestDownload:
    def test_falls_back_to_the_next_mirror(self, tmp_path, mirror, monkeypatch):
        monkeypatch.setattr(MNIST, "mirrors", [f"{mirror}/gone/", f"{mirror}/good/"])
        root = tmp_path / "data"
        ds = MNIST(root, download=True)
        assert len(ds) == 6 and len(MNIST(root, train=False)) == 4
        raw = sorted(os.listdir(root / "MNIST" / "raw"))
        assert raw == sorted(name for name, _ in MNIST.resources)  # no temporary files left

    def test_checksum_mismatch_lists_every_mirror_tried(self, tmp_path, mirror, monkeypatch):
        monkeypatch.setattr(MNIST, "mirrors", [f"{mirror}/gone/", f"{mirror}/good/"])
        bad = [(name, "0" * 32) for name, _ in MNIST.resources]
        monkeypatch.setattr(MNIST, "resources", bad)
        with pytest.raises(DownloadError) as info:
            MNIST(tmp_path / "data", download=True)
        message = str(info.value)
        assert f"{mirror}/gone/train-images-idx3-ubyte.gz: HTTP Error 404" in message
        assert f"{mirror}/good/train-images-idx3-ubyte.gz: checksum mismatch" in message
        assert os.listdir(tmp_path / "data" / "MNIST" / "raw") == []

    def test_present_files_are_not_downloaded(self, tmp_path, monkeypatch):
        write_mnist(tmp_path / "MNIST" / "raw", gz=False)
        monkeypatch.setattr(MNIST, "mirrors", ["http://127.0.0.1:9/unreachable/"])
        assert len(MNIST(tmp_path, download=True)) == 6


# ----- toy sets -------------------------------------------------------------
TOY_SETS = {
    "moons": (make_moons, 2),
    "circles": (make_circles, 2),
    "spirals": (make_spirals, 2),
    "spirals3": (functools.partial(make_spirals, classes=3), 3),
    "xor": (make_xor, 2),
    "blobs": (make_blobs, 3),
}


@pytest.mark.parametrize("name", TOY_SETS)
def test_toy_set_shapes_labels_and_determinism(name):
    make, classes = TOY_SETS[name]
    x, y = make(n=101, noise=0.1, seed=1)
    assert tuple(x.shape) == (101, 2) and x.dtype == engine.float32
    assert tuple(y.shape) == (101,) and y.dtype == engine.int64
    assert set(y.tolist()) == set(range(classes))
    counts = np.bincount(y.numpy())
    assert counts.min() >= 101 // classes - 15
    again, _ = make(n=101, noise=0.1, seed=1)
    other, _ = make(n=101, noise=0.1, seed=2)
    np.testing.assert_array_equal(x.numpy(), again.numpy())
    assert not np.array_equal(x.numpy(), other.numpy())


def test_toy_sets_do_not_touch_the_global_generator():
    engine.manual_seed(0)
    before = engine.rand(3).tolist()
    engine.manual_seed(0)
    make_moons()
    assert engine.rand(3).tolist() == before


def test_toy_set_arguments_are_checked():
    with pytest.raises(ValueError, match="factor"):
        make_circles(factor=1.5)
    with pytest.raises(ValueError, match="noise"):
        make_moons(noise=-1)
    with pytest.raises(ValueError, match="classes"):
        make_spirals(classes=1)
    x, y = make_blobs(n=40, centers=[(0, 0), (5, 5)], noise=0.0)
    assert set(map(tuple, x.numpy().tolist())) == {(0.0, 0.0), (5.0, 5.0)}


@pytest.mark.parametrize(
    "make, kwargs, message",
    [
        (make_moons, {"n": True}, "n must be an int"),
        (make_moons, {"n": 400.0}, "n must be an int"),
        (make_moons, {"noise": True}, "noise must be a finite number >= 0, got True"),
        (make_moons, {"noise": float("inf")}, "noise must be a finite number >= 0, got inf"),
        (make_moons, {"noise": "lots"}, "noise must be a finite number >= 0, got 'lots'"),
        (make_moons, {"noise": [0.1]}, r"noise must be a finite number >= 0, got \[0.1\]"),
        (make_circles, {"factor": "x"}, "factor must be a number in \\(0, 1\\), got 'x'"),
        (make_circles, {"factor": True}, "factor must be a number in \\(0, 1\\), got True"),
        (make_circles, {"factor": float("nan")}, "factor must be a number in \\(0, 1\\), got nan"),
        (make_spirals, {"classes": True}, "classes must be an int >= 2, got True"),
        (make_blobs, {"centers": True}, "centers must be an int >= 1 or \\(x, y\\) pairs"),
        (make_blobs, {"centers": "abc"}, "centers must be an int >= 1 or \\(x, y\\) pairs"),
        (make_blobs, {"centers": [[1, 2], [3]]}, "centers must be an int >= 1 or \\(x, y\\) pairs"),
        (make_blobs, {"centers": [[0, float("nan")]]}, "centers must be finite float32 values"),
        (make_blobs, {"centers": 10**12}, "n must be an int of at least 1000000000000"),
    ],
)
def test_toy_set_arguments_of_the_wrong_kind_are_refused(make, kwargs, message):
    with pytest.raises(ValueError, match=message):
        make(**kwargs)


# ----- transforms -----------------------------------------------------------
class TestTransforms:
    def test_to_tensor_scales_uint8_and_moves_channels_first(self):
        gray = T.ToTensor()(np.full((4, 5), 255, dtype=np.uint8))
        assert tuple(gray.shape) == (1, 4, 5) and gray.dtype == engine.float32
        assert float(gray.max()) == 1.0
        rgb = T.ToTensor()(np.zeros((4, 5, 3), dtype=np.uint8))
        assert tuple(rgb.shape) == (3, 4, 5)
        floats = T.ToTensor()(np.full((2, 2), 7.0, dtype=np.float32))
        assert float(floats.max()) == 7.0  # only uint8 is scaled, as in torchvision

    def test_normalize_per_channel(self):
        image = engine.ones(2, 3, 3)
        out = T.Normalize((0.5, 0.0), (0.5, 2.0))(image).numpy()
        np.testing.assert_allclose(out[0], 1.0)
        np.testing.assert_allclose(out[1], 0.5)

    def test_normalize_needs_a_float_tensor(self):
        with pytest.raises(TypeError, match="ToTensor"):
            T.Normalize((0.5,), (0.5,))(np.zeros((1, 2, 2), np.float32))
        with pytest.raises(ValueError, match="3 means for an image with 1 channels"):
            T.Normalize((0.1, 0.2, 0.3), (1, 1, 1))(engine.zeros(1, 2, 2))

    def test_compose_is_batchable_only_if_every_step_is(self):
        assert T.Compose([T.ToTensor(), T.Normalize((0.0,), (1.0,))]).batchable
        assert not T.Compose([T.ToTensor(), T.Lambda(lambda x: x)]).batchable


def test_normalize_repr_shows_mean_and_std_as_given_like_torchvision():
    assert repr(T.Normalize((0.5,), (0.5,))) == "Normalize(mean=(0.5,), std=(0.5,))"
    assert repr(T.Normalize([0.1, 0.2], [1, 2])) == "Normalize(mean=[0.1, 0.2], std=[1, 2])"
    assert T.Normalize((0.5,), (0.5,)).mean == (0.5,)
