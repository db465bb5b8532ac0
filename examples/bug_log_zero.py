"""A hand-written loss with one classic bug: `log(0)`.

The model tells zeros from the other digits. Its loss is binary cross-entropy written out
by hand; once the model grows confident, `torch.sigmoid` rounds to exactly 0.0 (or 1.0)
in float32, `torch.log(p)` (or `torch.log(1 - p)`) is `log(0) = -inf`, and `0 * -inf` makes
the loss NaN, then every weight after the next step. The script runs on, printing `nan`.
`F.binary_cross_entropy_with_logits(logits, y)` computes the same loss without the log of
a rounded probability; `stepgrad run --explain-nan` stops at the first NaN or Inf.
"""

import argparse

import torch
import torch.nn as nn
import torch.optim as optim
from torch.utils.data import DataLoader
from torchvision import datasets


def binary_cross_entropy(p, y):
    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()


parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=10)
args = parser.parse_args()

torch.manual_seed(0)
train_loader = DataLoader(datasets.Digits(train=True), batch_size=64, shuffle=True)
model = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 1))
optimizer = optim.SGD(model.parameters(), lr=2.0)

for epoch in range(args.epochs):
    total = 0.0
    for images, labels in train_loader:
        is_zero = (labels == 0).float()
        optimizer.zero_grad()
        p = torch.sigmoid(model(images)).squeeze(1)
        loss = binary_cross_entropy(p, is_zero)
        loss.backward()
        optimizer.step()
        total += loss.item()
    print(f"epoch {epoch + 1}: loss {total / len(train_loader):.4f}")
