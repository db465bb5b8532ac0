"""End to end: a PyTorch-style training script learns the shipped digits on the engine."""

from __future__ import annotations

import pytest

import engine as torch
import engine.nn as nn
import engine.nn.functional as F
import engine.optim as optim
from engine.datasets import Digits
from engine.utils.data import DataLoader


def accuracy(model, loader) -> float:
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for images, labels in loader:
            _, predicted = torch.max(model(images).data, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()
    return correct / total


@pytest.mark.usefixtures("fast_path")
def test_mlp_reaches_97_percent_on_digits():
    torch.manual_seed(0)
    train = DataLoader(Digits(train=True), batch_size=32, shuffle=True, seed=0)
    test = DataLoader(Digits(train=False), batch_size=256)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=10, gamma=0.3)
    for _ in range(20):
        model.train()
        for images, labels in train:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(images), labels)
            loss.backward()
            optimizer.step()
        scheduler.step()
    assert accuracy(model, test) >= 0.97


@pytest.mark.usefixtures("fast_path")
def test_small_cnn_learns_digits():
    torch.manual_seed(0)
    train = DataLoader(Digits(train=True), batch_size=64, shuffle=True, seed=0)
    test = DataLoader(Digits(train=False), batch_size=256)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
            self.bn = nn.BatchNorm2d(8)
            self.fc = nn.Linear(8 * 4 * 4, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.bn(self.conv1(x))), 2)
            return self.fc(x.view(x.size(0), -1))

    model = Net()
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(6):
        model.train()
        for images, labels in train:
            optimizer.zero_grad()
            F.cross_entropy(model(images), labels).backward()
            optimizer.step()
    assert accuracy(model, test) >= 0.93


def _digits_as_mnist(root) -> None:
    """Write the shipped digits, scaled to 28x28, as MNIST IDX files under root/MNIST/raw."""
    import gzip
    import struct

    import numpy as np

    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for train, prefix in ((True, "train"), (False, "t10k")):
        ds = Digits(train=train)
        small = (ds.data.numpy()[:, 0] * 255).astype(np.uint8)
        big = np.pad(np.kron(small, np.ones((3, 3), np.uint8)), ((0, 0), (2, 2), (2, 2)))
        labels = ds.targets.numpy().astype(np.uint8)
        for name, arr in (
            (f"{prefix}-images-idx3-ubyte.gz", big),
            (f"{prefix}-labels-idx1-ubyte.gz", labels),
        ):
            header = struct.pack(">I", 0x0800 | arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
            (raw / name).write_bytes(gzip.compress(header + arr.tobytes()))


def test_pytorch_tutorial_lenet_script_runs_unchanged(tmp_path):
    """The classic LeNet-5 MNIST script: only `import engine as torch` and the dataset differ."""
    _digits_as_mnist(tmp_path)
    from engine.datasets import MNIST, transforms

    transform = transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))]
    )
    trainset = MNIST(root=str(tmp_path), train=True, download=False, transform=transform)
    testset = MNIST(root=str(tmp_path), train=False, download=False, transform=transform)
    trainloader = torch.utils.data.DataLoader(trainset, batch_size=64, shuffle=True)
    testloader = torch.utils.data.DataLoader(testset, batch_size=1000, shuffle=False)

    class Net(nn.Module):
        def __init__(self):
            super(Net, self).__init__()  # noqa: UP008 (as the tutorials write it)
            self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
            self.pool = nn.MaxPool2d(2, 2)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, x):
            x = self.pool(F.relu(self.conv1(x)))
            x = self.pool(F.relu(self.conv2(x)))
            x = x.view(-1, 16 * 5 * 5)
            x = F.relu(self.fc1(x))
            x = F.relu(self.fc2(x))
            return self.fc3(x)

    torch.manual_seed(0)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    net = Net().to(device)
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    for _epoch in range(8):
        running_loss = 0.0
        for inputs, labels in trainloader:
            inputs, labels = inputs.to(device), labels.to(device)
            optimizer.zero_grad()
            outputs = net(inputs)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
    correct = total = 0
    with torch.no_grad():
        for images, labels in testloader:
            outputs = net(images.to(device))
            _, predicted = torch.max(outputs.data, 1)
            total += labels.size(0)
            correct += (predicted.cpu() == labels).sum().item()
    assert total == len(testset)
    assert correct / total >= 0.9
