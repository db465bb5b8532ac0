"""A design as a self-contained PyTorch training script, for one process or torchrun."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

import engine
from app.model.design import Design
from app.model.export import ExportError, export_source
from engine.datasets import Digits
from engine.files import write_atomic
from engine.random import Generator, use_generator

IMAGE_SETS = ("digits", "mnist", "fashionmnist", "fashion_mnist", "fashion-mnist")
INIT_SUFFIX = "_init.npz"
DIGITS_SUFFIX = "_digits.npz"
_MAIN = 'if __name__ == "__main__":\n'


def training_source(design: Design, init_file: str, data_file: str | None = None) -> str:
    """The design as a PyTorch file that trains it from the weights in `init_file`.

    `data_file` names the digits .npz beside the script; other image sets read IDX files.
    """
    dataset = str(design.training.get("dataset", "digits")).lower()
    if dataset not in IMAGE_SETS:
        raise ExportError(f"--training export does not yet support the {dataset!r} dataset")
    model = export_source(design, "torch", init_file)
    model = model[: model.index(_MAIN)].rstrip() + "\n"
    model = model.replace(
        "# the trained weights, a .npz written by stepgrad",
        "# the starting weights stepgrad draws from the design's seed",
    )
    head, rest = model.split('"""\n\n', 1)
    model = head + _DOC + "import json\nimport os\n" + rest.replace("import json\n", "", 1)
    data = json.dumps(data_file) if data_file else None
    return (
        model
        + f'\n\nTRAINING = json.loads(DESIGN_JSON)["training"]\nDIGITS_FILE = {data}\n'
        + _TRAINER
    )


def export_training_file(design: Design, path: str | os.PathLike) -> Path:
    """Write the training script to `path`, with its starting weights (and the digits) beside it.

    The starting weights are those `stepgrad train` draws from the design's seed, so
    the script and stepgrad start from the same network.
    """
    path = Path(path)
    init_file = path.stem + INIT_SUFFIX
    with use_generator(Generator().manual_seed(int(design.training.get("seed", 0)))):
        model = design.build()
    engine.save(model.state_dict(), path.parent / init_file)
    data_file = None
    if str(design.training.get("dataset", "digits")).lower() == "digits":
        data_file = path.stem + DIGITS_SUFFIX
        train, val = Digits(train=True), Digits(train=False)
        np.savez(
            path.parent / data_file,
            x_train=train.data.numpy(),
            y_train=train.targets.numpy(),
            x_val=val.data.numpy(),
            y_val=val.targets.numpy(),
        )
    write_atomic(path, training_source(design, init_file, data_file))
    return path


_DOC = '''

Training script: `python FILE.py` (one process, CPU or CUDA) or
`torchrun --nproc_per_node N FILE.py` (DistributedDataParallel: gloo on CPU, NCCL on
GPUs; the global batch is the design's). Options: --epochs, --data DIR (MNIST IDX
files), --out DIR (checkpoints and curves.csv), --resume CHECKPOINT.
"""

'''

_TRAINER = '''

def read_idx(path):
    import gzip

    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape)


def find_idx(folder, stem):
    for name in (stem, stem + ".gz"):
        for sub in ("", "MNIST/raw", "FashionMNIST/raw"):
            candidate = os.path.join(folder, sub, name)
            if os.path.exists(candidate):
                return candidate
    raise SystemExit(f"{stem}: not found in {folder}")


def load_data(data_dir):
    """(x_train, y_train, x_val, y_val) as tensors; validation is the test split."""
    if DIGITS_FILE is not None:
        here = os.path.dirname(os.path.abspath(__file__))
        with np.load(os.path.join(here, DIGITS_FILE), allow_pickle=False) as f:
            arrays = [f[k] for k in ("x_train", "y_train", "x_val", "y_val")]
    else:
        if data_dir is None:
            raise SystemExit("this dataset reads IDX files: pass --data DIR")
        arrays = []
        for split in ("train", "t10k"):
            images = read_idx(find_idx(data_dir, f"{split}-images-idx3-ubyte"))
            labels = read_idx(find_idx(data_dir, f"{split}-labels-idx1-ubyte"))
            x = (images.astype(np.float32) / 255.0)[:, None]
            arrays += [x, labels.astype(np.int64)]
    x_train, y_train, x_val, y_val = (torch.from_numpy(np.array(a)) for a in arrays)
    return x_train.float(), y_train.long(), x_val.float(), y_val.long()


class StepgradOrder(torch.utils.data.DistributedSampler):
    """stepgrad's shuffle order: each epoch draws two permutations from numpy's PCG64
    seeded with the design's seed, and uses the first; each global batch is split into
    one contiguous share per process, so any process count sees the same batches."""

    def __init__(self, dataset, batch, num_replicas, rank, seed):
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, seed=seed)
        self.batch = batch

    def shares(self):
        rng = np.random.default_rng(self.seed)
        n = len(self.dataset)
        for _ in range(2 * self.epoch):
            rng.permutation(n)
        order = rng.permutation(n)
        for start in range(0, n, self.batch):
            chunk = order[start : start + self.batch]
            if len(chunk) < self.num_replicas:
                return
            yield np.array_split(chunk, self.num_replicas)[self.rank]

    def __iter__(self):
        for share in self.shares():
            yield from share.tolist()

    def __len__(self):
        return sum(len(share) for share in self.shares())


def make_optimizer(params):
    settings = dict(TRAINING.get("optimizer") or {"type": "SGD", "lr": 0.01})
    kind = settings.pop("type")
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in settings.items()}
    return getattr(torch.optim, kind)(params, **kwargs)


def make_scheduler(optimizer):
    settings = TRAINING.get("schedule")
    if not settings:
        return None
    settings = dict(settings)
    kind = settings.pop("type")
    return getattr(torch.optim.lr_scheduler, kind)(optimizer, **settings)


def loss_target(out, y):
    if TRAINING["loss"] in ("CrossEntropyLoss", "NLLLoss"):
        return y
    if out.ndim == 2 and out.shape[1] > 1:
        return torch.nn.functional.one_hot(y, out.shape[1]).float()
    return y.float().reshape(out.shape)


def evaluate(model, loss_fn, x, y, device):
    model.eval()
    total, correct, loss = 0, 0, 0.0
    with torch.no_grad():
        for start in range(0, len(x), 256):
            xb = x[start : start + 256].to(device)
            yb = y[start : start + 256].to(device)
            out = model(xb)
            loss += float(loss_fn(out, loss_target(out, yb))) * len(xb)
            correct += int((out.argmax(1) == yb).sum())
            total += len(xb)
    model.train()
    return loss / total, correct / total


def main():
    import argparse
    import csv
    import time

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=int(TRAINING.get("epochs", 1)))
    parser.add_argument("--data", default=None)
    parser.add_argument("--out", default="checkpoints")
    parser.add_argument("--resume", default=None)
    args = parser.parse_args()

    distributed = "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1
    if distributed:
        import torch.distributed as dist

        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
        rank, world = dist.get_rank(), dist.get_world_size()
    else:
        rank, world = 0, 1
    if torch.cuda.is_available():
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")

    seed = int(TRAINING.get("seed", 0))
    torch.manual_seed(seed)
    model = build_model().to(device)
    loss_fn = getattr(torch.nn, TRAINING["loss"])()
    optimizer = make_optimizer(model.parameters())
    scheduler = make_scheduler(optimizer)
    start_epoch, curves = 0, []
    if args.resume:
        state = torch.load(args.resume, map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None:
            scheduler.load_state_dict(state["scheduler"])
        start_epoch = int(state["epoch"])
        curves = [list(row) for row in state["curves"]]
    net = model
    if distributed:
        net = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )

    x_train, y_train, x_val, y_val = load_data(args.data)
    dataset = torch.utils.data.TensorDataset(x_train, y_train)
    batch = int(TRAINING.get("batch_size", 32))
    if batch % world:
        raise SystemExit(f"batch size {batch} does not split over {world} processes")
    sampler = StepgradOrder(dataset, batch, world, rank, seed)
    loader = torch.utils.data.DataLoader(dataset, batch // world, sampler=sampler)
    if rank == 0:
        os.makedirs(args.out, exist_ok=True)

    for epoch in range(start_epoch, args.epochs):
        sampler.set_epoch(epoch)
        began, seen, total = time.perf_counter(), 0, 0.0
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            out = net(xb)
            loss = loss_fn(out, loss_target(out, yb))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss) * len(xb)
            seen += len(xb)
        if scheduler is not None:
            scheduler.step()
        val_loss, val_acc = evaluate(model, loss_fn, x_val, y_val, device)
        curves.append([epoch + 1, total / seen, val_loss, val_acc])
        if rank == 0:
            seconds = time.perf_counter() - began
            print(
                f"epoch {epoch + 1}/{args.epochs}  loss {total / seen:.4f}  "
                f"val_loss {val_loss:.4f}  val_acc {val_acc:.4f}  ({seconds:.1f}s)",
                flush=True,
            )
            state = {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict() if scheduler is not None else {},
                "epoch": epoch + 1,
                "curves": curves,
            }
            torch.save(state, os.path.join(args.out, f"epoch{epoch + 1}.pt"))
            torch.save(state, os.path.join(args.out, "last.pt"))
            with open(os.path.join(args.out, "curves.csv"), "w", newline="") as f:
                writer = csv.writer(f)
                writer.writerow(["epoch", "train_loss", "val_loss", "val_accuracy"])
                writer.writerows(curves)
    if distributed:
        dist.barrier()


if __name__ == "__main__":
    main()
'''
