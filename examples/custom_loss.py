"""A custom loss: cross-entropy with label smoothing, written as an `nn.Module` from
`F.log_softmax` and `gather`, and checked against `F.cross_entropy` first.

    stepgrad run examples/custom_loss.py
"""

import argparse

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import DataLoader
from torchvision import datasets


class LabelSmoothingLoss(nn.Module):
    """Cross-entropy against targets that put 1 - smoothing on the true class and share
    smoothing evenly among all classes."""

    def __init__(self, smoothing=0.1):
        super().__init__()
        self.smoothing = smoothing

    def forward(self, logits, target):
        log_probs = F.log_softmax(logits, dim=1)
        true_class = -log_probs.gather(1, target.unsqueeze(1)).squeeze(1)
        uniform = -log_probs.mean(dim=1)
        loss = (1 - self.smoothing) * true_class + self.smoothing * uniform
        return loss.mean()


def accuracy(logits, target):
    return (logits.argmax(dim=1) == target).float().mean().item()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--smoothing", type=float, default=0.1)
    args = parser.parse_args()

    torch.manual_seed(0)
    logits, target = torch.randn(8, 10), torch.randint(0, 10, (8,))
    plain = LabelSmoothingLoss(smoothing=0.0)(logits, target)
    same = torch.allclose(plain, F.cross_entropy(logits, target))
    print("equals F.cross_entropy at smoothing 0:", same)

    train_loader = DataLoader(datasets.Digits(train=True), batch_size=64, shuffle=True)
    test_set = datasets.Digits(train=False)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    criterion = LabelSmoothingLoss(args.smoothing)
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    for epoch in range(args.epochs):
        total = 0.0
        for images, labels in train_loader:
            optimizer.zero_grad()
            loss = criterion(model(images), labels)
            loss.backward()
            optimizer.step()
            total += loss.item()
        print(f"epoch {epoch + 1}: loss {total / len(train_loader):.4f}")

    with torch.no_grad():
        test_accuracy = accuracy(model(test_set.data), test_set.targets)
    print(f"test accuracy: {100 * test_accuracy:.1f}%")


if __name__ == "__main__":
    main()
