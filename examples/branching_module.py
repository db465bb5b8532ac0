"""A custom module whose forward is ordinary Python: two branches joined with
`torch.cat`, a loop that applies one shared block a varying number of times, and an
`if` that adds dropout only while training. The graph differs from batch to batch.

    stepgrad run examples/branching_module.py
"""

import argparse

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import DataLoader
from torchvision import datasets


class TwoViewNet(nn.Module):
    """Reads each 8x8 digit twice: its pixels through a convolution, and its row and
    column sums (how much ink each row and column holds) through a linear layer."""

    def __init__(self, width=64):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, padding=1)
        self.profile = nn.Linear(16, 16)
        self.mix = nn.Linear(8 * 4 * 4 + 16, width)
        self.block = nn.Linear(width, width)
        self.out = nn.Linear(width, 10)

    def forward(self, x, depth=2):
        pixels = F.max_pool2d(F.relu(self.conv(x)), 2).flatten(1)  # (N, 128)
        ink = torch.cat([x.sum(2), x.sum(3)], dim=2).flatten(1)  # (N, 16)
        h = torch.cat([pixels, F.relu(self.profile(ink))], dim=1)
        h = F.relu(self.mix(h))
        for _ in range(depth):  # one block, its weights shared by every round
            h = h + F.relu(self.block(h))
        if self.training:
            h = F.dropout(h, p=0.1)
        return self.out(h)


def evaluate(model, loader):
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for images, labels in loader:
            correct += (model(images).argmax(1) == labels).sum().item()
            total += labels.numel()
    return correct / total


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()

    torch.manual_seed(0)
    train_loader = DataLoader(datasets.Digits(train=True), batch_size=32, shuffle=True)
    test_loader = DataLoader(datasets.Digits(train=False), batch_size=128)
    model = TwoViewNet()
    optimizer = optim.Adam(model.parameters(), lr=1e-3)

    step = 0
    for epoch in range(args.epochs):
        model.train()
        total = 0.0
        for images, labels in train_loader:
            optimizer.zero_grad()
            outputs = model(images, depth=1 + step % 3)  # 1, 2 or 3 rounds of the block
            loss = F.cross_entropy(outputs, labels)
            loss.backward()
            optimizer.step()
            total += loss.item()
            step += 1
        print(f"epoch {epoch + 1}: loss {total / len(train_loader):.4f}")
    print(f"test accuracy: {100 * evaluate(model, test_loader):.1f}%")


if __name__ == "__main__":
    main()
