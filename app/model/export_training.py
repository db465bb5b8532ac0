"""A design as a self-contained training script: PyTorch (one process or torchrun) or the engine."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

import engine
from app.model.design import Design
from app.model.export import TARGETS, export_source
from app.model.export_data import DIGITS_SUFFIX, IDX_SETS, data_source, dataset_name
from engine.datasets import Digits
from engine.files import write_atomic
from engine.random import Generator, use_generator

INIT_SUFFIX = "_init.npz"
_MAIN = 'if __name__ == "__main__":\n'


def training_source(design: Design, path: str | os.PathLike, target: str = "torch") -> str:
    """The training script that `export_training_file` writes to `path`, for `target`."""
    if target not in TARGETS:
        raise ValueError(f"export target must be one of {', '.join(TARGETS)}, got {target!r}")
    stem = Path(path).stem
    model = export_source(design, target, stem + INIT_SUFFIX)
    model = model[: model.index(_MAIN)].rstrip() + "\n"
    model = model.replace(
        "# the trained weights, a .npz written by stepgrad",
        "# the starting weights stepgrad draws from the design's seed",
    )
    head, rest = model.split('"""\n\n', 1)
    if target == "torch":
        doc, trainer = _TORCH_DOC, _TORCH_TRAINER
        rest = rest.replace("import json\n", "", 1)
    else:
        doc, trainer = _ENGINE_DOC, _ENGINE_TRAINER
        nn_import = "import engine.nn as nn\n"
        rest = rest.replace(nn_import, nn_import + "import numpy as np\n")
    return (
        head
        + doc
        + "import json\nimport os\n"
        + rest
        + '\n\nTRAINING = json.loads(DESIGN_JSON)["training"]\n'
        + data_source(design, stem, target)
        + _COMMON
        + trainer
    )


def training_files(design: Design, path: str | os.PathLike) -> list[Path]:
    """What `export_training_file` writes for `path`: the script and the files beside it."""
    path = Path(path)
    files = [path, path.parent / (path.stem + INIT_SUFFIX)]
    if dataset_name(design) == "digits":
        files.append(path.parent / (path.stem + DIGITS_SUFFIX))
    return files


def how_to_run(design: Design, path: str | os.PathLike, target: str) -> list[str]:
    """The command lines that run the script written to `path`."""
    data = " --data DIR" if dataset_name(design) in IDX_SETS else ""
    name = Path(path).name
    lines = [f"python {name}{data}"]
    if target == "torch":
        lines.append(f"torchrun --nproc_per_node N {name}{data}")
    return lines


def export_training_file(design: Design, path: str | os.PathLike, target: str = "torch") -> Path:
    """Write the training script to `path`, with its starting weights (and the digits) beside it.

    The starting weights are those `stepgrad train` draws from the design's seed, so
    the script and stepgrad start from the same network.
    """
    path = Path(path)
    source = training_source(design, path, target)
    with use_generator(Generator().manual_seed(int(design.training.get("seed", 0)))):
        model = design.build()
    _, init, *digits = training_files(design, path)
    engine.save(model.state_dict(), init)
    if digits:
        train, val = Digits(train=True), Digits(train=False)
        np.savez(
            digits[0],
            x_train=train.data.numpy(),
            y_train=train.targets.numpy(),
            x_val=val.data.numpy(),
            y_val=val.targets.numpy(),
        )
    write_atomic(path, source)
    return path


# ----- what both scripts share -------------------------------------------------
_COMMON = '''

CLASSIFICATION_LOSSES = ("CrossEntropyLoss", "NLLLoss")
BINARY_LOSSES = ("BCEWithLogitsLoss", "BCELoss")


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


def step_scheduler(scheduler, val_loss):
    if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        scheduler.step(val_loss)
    elif scheduler is not None:
        scheduler.step()


def loss_target(out, y):
    """Labels as the loss wants them: indices, or floats shaped like the output."""
    if TRAINING["loss"] in CLASSIFICATION_LOSSES or y.is_floating_point():
        return y
    if out.ndim == 2 and out.shape[1] > 1:
        return torch.nn.functional.one_hot(y, out.shape[1]).float()
    return y.float().reshape(out.shape)


def count_correct(out, target):
    loss = TRAINING["loss"]
    if loss in CLASSIFICATION_LOSSES:
        return int((out.argmax(1) == target).sum().item())
    if loss in BINARY_LOSSES:
        if out.ndim == 2 and out.shape[1] > 1:
            return int((out.argmax(1) == target.argmax(1)).sum().item())
        threshold = 0.0 if loss == "BCEWithLogitsLoss" else 0.5
        return int(((out > threshold) == (target > 0.5)).sum().item())
    return 0


def evaluate(model, loss_fn, x, y, device, batch):
    """Validation loss and accuracy (None for a regression loss), in eval mode."""
    batch = max(batch, 256)
    model.eval()
    total, correct, loss = 0, 0, 0.0
    with torch.no_grad():
        for start in range(0, len(x), batch):
            xb = x[start : start + batch].to(device)
            yb = y[start : start + batch].to(device)
            out = model(xb)
            target = loss_target(out, yb)
            loss += loss_fn(out, target).item() * len(xb)
            correct += count_correct(out, target)
            total += len(xb)
    model.train()
    classifies = TRAINING["loss"] in CLASSIFICATION_LOSSES + BINARY_LOSSES
    return loss / total, correct / total if classifies else None


def train_epoch(net, loader, loss_fn, optimizer, device):
    """One pass over `loader`, a step a batch: the mean training loss."""
    seen, total = 0, 0.0
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        out = net(xb)
        loss = loss_fn(out, loss_target(out, yb))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(xb)
        seen += len(xb)
    return total / seen


def tensors(arrays):
    """Float inputs and integer labels as tensors."""
    x_train, y_train, x_val, y_val = (torch.from_numpy(np.asarray(a)) for a in arrays)
    return x_train.float(), y_train.long(), x_val.float(), y_val.long()


def report(epoch, epochs, train_loss, val_loss, val_acc, seconds):
    accuracy = "" if val_acc is None else f"  val_acc {val_acc:.4f}"
    print(
        f"epoch {epoch}/{epochs}  loss {train_loss:.4f}  val_loss {val_loss:.4f}"
        f"{accuracy}  ({seconds:.1f}s)",
        flush=True,
    )


def write_curves(folder, curves):
    import csv

    with open(os.path.join(folder, "curves.csv"), "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["epoch", "train_loss", "val_loss", "val_accuracy"])
        writer.writerows(["" if v is None else v for v in row] for row in curves)


def arguments():
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=int(TRAINING.get("epochs", 1)))
    parser.add_argument("--data", default=None, help="the folder of MNIST's IDX files")
    parser.add_argument("--out", default="checkpoints", help="checkpoints, curves.csv")
    parser.add_argument("--resume", default=None, help="a checkpoint this script wrote")
    return parser.parse_args()
'''

_TORCH_DOC = '''

Training script: `python FILE.py` (one process, CPU or CUDA) or
`torchrun --nproc_per_node N FILE.py` (DistributedDataParallel: gloo on CPU, NCCL on
GPUs; the global batch is the design's). Options: --epochs, --data DIR (MNIST IDX
files), --out DIR (checkpoints and curves.csv), --resume CHECKPOINT.
"""

'''

_ENGINE_DOC = '''

Training script for stepgrad's engine, one process: `python FILE.py`. Options:
--epochs, --data DIR (MNIST IDX files), --out DIR (checkpoints as .npz, and
curves.csv), --resume CHECKPOINT.
"""

'''

_TORCH_TRAINER = '''

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


def main():
    import time

    args = arguments()
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

    x_train, y_train, x_val, y_val = tensors(load_data(args.data))
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
        began = time.perf_counter()
        train_loss = train_epoch(net, loader, loss_fn, optimizer, device)
        val_loss, val_acc = evaluate(model, loss_fn, x_val, y_val, device, batch)
        step_scheduler(scheduler, val_loss)
        curves.append([epoch + 1, train_loss, val_loss, val_acc])
        if rank == 0:
            seconds = time.perf_counter() - began
            report(epoch + 1, args.epochs, train_loss, val_loss, val_acc, seconds)
            state = {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict() if scheduler is not None else {},
                "epoch": epoch + 1,
                "curves": curves,
            }
            torch.save(state, os.path.join(args.out, f"epoch{epoch + 1}.pt"))
            torch.save(state, os.path.join(args.out, "last.pt"))
            write_curves(args.out, curves)
    if distributed:
        dist.barrier()


if __name__ == "__main__":
    main()
'''

_ENGINE_TRAINER = """

def main():
    import time

    args = arguments()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    seed = int(TRAINING.get("seed", 0))
    torch.manual_seed(seed)  # building draws what stepgrad draws; dropout follows it
    model = build_model().to(device)
    loss_fn = getattr(torch.nn, TRAINING["loss"])()
    optimizer = make_optimizer(model.parameters())
    scheduler = make_scheduler(optimizer)
    shuffle = torch.Generator().manual_seed(seed)
    start_epoch, curves = 0, []
    if args.resume:
        state = torch.load(args.resume, map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None:
            scheduler.load_state_dict(state["scheduler"])
        shuffle.set_state(state["shuffle"])
        torch.set_rng_state(state["rng"])
        start_epoch = int(state["epoch"])
        curves = [list(row) for row in state["curves"]]

    x_train, y_train, x_val, y_val = tensors(load_data(args.data))
    dataset = torch.utils.data.TensorDataset(x_train, y_train)
    batch = int(TRAINING.get("batch_size", 32))
    loader = torch.utils.data.DataLoader(
        dataset, batch, shuffle=True, generator=shuffle
    )
    os.makedirs(args.out, exist_ok=True)

    for epoch in range(start_epoch, args.epochs):
        began = time.perf_counter()
        train_loss = train_epoch(model, loader, loss_fn, optimizer, device)
        val_loss, val_acc = evaluate(model, loss_fn, x_val, y_val, device, batch)
        step_scheduler(scheduler, val_loss)
        curves.append([epoch + 1, train_loss, val_loss, val_acc])
        seconds = time.perf_counter() - began
        report(epoch + 1, args.epochs, train_loss, val_loss, val_acc, seconds)
        state = {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict() if scheduler is not None else {},
            "shuffle": shuffle.get_state(),
            "rng": torch.get_rng_state(),
            "epoch": epoch + 1,
            "curves": curves,
        }
        torch.save(state, os.path.join(args.out, f"epoch{epoch + 1}.npz"))
        torch.save(state, os.path.join(args.out, "last.npz"))
        write_curves(args.out, curves)


if __name__ == "__main__":
    main()
"""
