"""A training loop with one classic bug: `optimizer.zero_grad()` is missing.

`loss.backward()` adds to each parameter's `.grad`, so without zero_grad every step
follows the sum of all gradients so far, and the loss stops going down. The script
runs to the end; the losses it prints show the bug. Put `optimizer.zero_grad()` back
at the top of the inner loop and they fall.
"""

import argparse

import torch
import torch.nn as nn
import torch.optim as optim
from torch.utils.data import DataLoader
from torchvision import datasets

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=5)
args = parser.parse_args()

torch.manual_seed(0)
train_loader = DataLoader(datasets.Digits(train=True), batch_size=64, shuffle=True)

model = nn.Sequential(
    nn.Flatten(),
    nn.Linear(64, 64),
    nn.ReLU(),
    nn.Linear(64, 10),
)
criterion = nn.CrossEntropyLoss()
optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)

for epoch in range(args.epochs):
    total = 0.0
    for images, labels in train_loader:
        loss = criterion(model(images), labels)
        loss.backward()
        optimizer.step()
        total += loss.item()
    print(f"epoch {epoch + 1}: loss {total / len(train_loader):.4f}")
