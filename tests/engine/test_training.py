"""End to end: a PyTorch-style training script learns the shipped digits on the engine."""

from __future__ import annotations

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
