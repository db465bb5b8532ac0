"""How an exported training script loads its design's dataset, without stepgrad installed."""

from __future__ import annotations

import json

from app.model.data import DatasetError, make_datasets, toy_settings
from app.model.design import Design
from app.model.export import LINE_LENGTH, ExportError, _literal

DIGITS_SUFFIX = "_digits.npz"
IDX_SETS = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST"}  # torchvision's class names


def dataset_name(design: Design) -> str:
    return str(design.training.get("dataset", "digits")).lower()


def data_source(design: Design, stem: str, target: str) -> str:
    """The script's `load_data(data_dir)` for the design's dataset, and what it needs.

    `stem` names the script's file (the digits .npz is `stem` + DIGITS_SUFFIX); only
    the torch script tries torchvision.
    """
    name = dataset_name(design)
    if name == "digits":
        return f"DIGITS_FILE = {json.dumps(stem + DIGITS_SUFFIX)}\n" + _DIGITS
    if name in IDX_SETS:
        read = _TORCHVISION_READ if target == "torch" else _PLAIN_READ
        return f"IMAGES = {json.dumps(IDX_SETS[name])}\n" + _IDX.replace("    {read}\n", read)
    try:
        make_datasets(design.training)  # every setting checked as stepgrad checks it
        kwargs, fraction = toy_settings(name, design.training)
    except DatasetError as err:
        raise ExportError(f"cannot export {design.name!r}: {err}") from None
    return _TOY_COMMON + _TOYS[name] + _toy_loader(name, kwargs, fraction)


def _toy_loader(name: str, kwargs: dict, fraction: float) -> str:
    args = [f"{key}={_literal(value)}" for key, value in kwargs.items()]
    call = f"    x, y = make_{name}({', '.join(args)})"
    if len(call) > LINE_LENGTH:
        call = "\n".join([f"    x, y = make_{name}(", *(f"        {a}," for a in args), "    )"])
    return f'''

def load_data(data_dir):
    """(x_train, y_train, x_val, y_val): the {name} as stepgrad draws them from the
    design's seed; the last {fraction:g} of the shuffled points validate."""
{call}
    cut = len(y) - max(1, round(len(y) * {fraction!r}))
    return x[:cut], y[:cut], x[cut:], y[cut:]
'''


_DIGITS = '''

def load_data(data_dir):
    """(x_train, y_train, x_val, y_val): the 8x8 digits, from the .npz beside this."""
    here = os.path.dirname(os.path.abspath(__file__))
    with np.load(os.path.join(here, DIGITS_FILE), allow_pickle=False) as f:
        return tuple(f[k] for k in ("x_train", "y_train", "x_val", "y_val"))
'''

_IDX = '''IDX_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


def load_data(data_dir):
    """(x_train, y_train, x_val, y_val): the IDX files in `data_dir` (or in its
    IMAGES/raw, torchvision's layout); images scaled to [0, 1], one channel; the test
    split validates."""
    if data_dir is None:
        raise SystemExit(f"pass --data DIR, a folder holding {', '.join(IDX_FILES)}")
    if not os.path.isdir(data_dir):
        raise SystemExit(f"--data {data_dir}: no such folder")
    {read}


def scaled(x_train, y_train, x_val, y_val):
    x_train, x_val = (x.astype(np.float32)[:, None] / 255 for x in (x_train, x_val))
    return x_train, y_train.astype(np.int64), x_val, y_val.astype(np.int64)


def read_idx_files(folder):
    return [read_idx(find_idx(folder, name)) for name in IDX_FILES]


def find_idx(folder, name):
    """`name` (or it unzipped) in `folder` or in `folder/IMAGES/raw`."""
    raw = os.path.join(folder, IMAGES, "raw")
    for where in (folder, raw):
        for candidate in (name, name[: -len(".gz")]):
            path = os.path.join(where, candidate)
            if os.path.isfile(path):
                return path
    raise SystemExit(
        f"{name} is missing from {folder} (looked there and in {raw}); "
        f"the folder needs {', '.join(IDX_FILES)}"
    )


def read_idx(path):
    """The array in an IDX file of unsigned bytes, gzipped or not."""
    import gzip

    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except OSError as err:
        raise SystemExit(f"{path}: {err}") from None
    if len(raw) < 4 or raw[:3] != b"\\0\\0\\x08":
        raise SystemExit(f"{path}: not an IDX file of unsigned bytes")
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    if len(raw) != 4 + 4 * dims + int(np.prod(shape)):
        raise SystemExit(f"{path}: {len(raw)} bytes, not what its header says")
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape)
'''

_PLAIN_READ = "    return scaled(*read_idx_files(data_dir))\n"
# torchvision reads its own layout (DIR/MNIST/raw, unzipped); anything else, such as
# the .gz files alone, goes to the script's own reader
_TORCHVISION_READ = """    try:
        from torchvision import datasets

        sets = [getattr(datasets, IMAGES)(data_dir, train=t) for t in (True, False)]
    except (ImportError, RuntimeError):
        return scaled(*read_idx_files(data_dir))
    return scaled(*(a.numpy() for s in sets for a in (s.data, s.targets)))
"""

_TOY_COMMON = '''

def split_counts(n, parts):
    """n as `parts` near-equal counts, the larger ones first."""
    return [n // parts + (i < n % parts) for i in range(parts)]


def finish(rng, groups, noise):
    """The groups stacked (group k has label k), noise added, shuffled."""
    x = np.concatenate(groups).astype(np.float64)
    y = np.concatenate([np.full(len(g), k, np.int64) for k, g in enumerate(groups)])
    x += rng.normal(0.0, noise, size=x.shape) if noise else 0.0
    order = rng.permutation(len(y))
    return x[order].astype(np.float32), y[order]
'''

_TOYS = {
    "moons": '''

def make_moons(n, noise, seed):
    """Two interleaving half circles."""
    rng = np.random.default_rng(seed)
    n_out = n // 2
    t_out, t_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n - n_out)
    outer = np.stack([np.cos(t_out), np.sin(t_out)], axis=1)
    inner = np.stack([1 - np.cos(t_in), 0.5 - np.sin(t_in)], axis=1)
    return finish(rng, [outer, inner], noise)
''',
    "circles": '''

def make_circles(n, noise, seed, factor):
    """A small circle (label 1) inside a large one (label 0)."""
    rng = np.random.default_rng(seed)
    n_out = n // 2
    t_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    t_in = np.linspace(0, 2 * np.pi, n - n_out, endpoint=False)
    outer = np.stack([np.cos(t_out), np.sin(t_out)], axis=1)
    inner = factor * np.stack([np.cos(t_in), np.sin(t_in)], axis=1)
    return finish(rng, [outer, inner], noise)
''',
    "spirals": '''

def make_spirals(n, noise, seed, classes):
    """`classes` spiral arms wound around the origin."""
    rng = np.random.default_rng(seed)
    arms = []
    for k, m in enumerate(split_counts(n, classes)):
        r = np.linspace(0.05, 1, m)
        angle = 2.5 * np.pi * r + 2 * np.pi * k / classes
        arms.append(np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1))
    return finish(rng, arms, noise)
''',
    "xor": '''

def make_xor(n, noise, seed):
    """Points in [-1, 1]^2; label 1 where x and y have different signs."""
    rng = np.random.default_rng(seed)
    points = rng.uniform(-1, 1, size=(n, 2))
    points += np.sign(points) * 0.05
    labels = (points[:, 0] > 0) != (points[:, 1] > 0)
    return finish(rng, [points[~labels], points[labels]], noise)
''',
    "blobs": '''

def make_blobs(n, noise, seed, centers):
    """Gaussian blobs around `centers` points (a count: evenly on a circle of radius 2)."""
    rng = np.random.default_rng(seed)
    if isinstance(centers, int):
        angles = 2 * np.pi * np.arange(centers) / centers + np.pi / 2
        points = 2 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    else:
        points = np.asarray(centers, dtype=np.float64)
    counts = split_counts(n, len(points))
    groups = [np.repeat(c[None], m, axis=0) for c, m in zip(points, counts, strict=True)]
    return finish(rng, groups, noise)
''',
}
