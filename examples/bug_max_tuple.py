"""A 1-D convolutional classifier with one classic bug: `torch.max(x, 2)` returns a
(values, indices) pair, and the pair goes straight into `F.relu`.

Each 8x8 digit is read as a sequence of 8 rows of 8 pixels; a Conv1d slides along it
and max-over-time pooling keeps each channel's strongest response. The fix is
`torch.max(x, 2).values` (or `torch.max(x, 2)[0]`).
`stepgrad run examples/bug_max_tuple.py` reports the failing line and the fix.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import DataLoader
from torchvision import datasets


class RowConvNet(nn.Module):
    def __init__(self, channels=32):
        super().__init__()
        self.conv = nn.Conv1d(8, channels, kernel_size=3)
        self.fc = nn.Linear(channels, 10)

    def forward(self, x):
        x = x.squeeze(1)  # (N, 8, 8): 8 pixels per row, 8 rows in sequence
        x = self.conv(x)  # (N, channels, 6)
        x = F.relu(torch.max(x, 2))
        return self.fc(x)


train_set = datasets.Digits(train=True)
train_loader = DataLoader(train_set, batch_size=64, shuffle=True)

torch.manual_seed(0)
model = RowConvNet()
criterion = nn.CrossEntropyLoss()
optimizer = optim.Adam(model.parameters(), lr=0.01)

for epoch in range(3):
    for images, labels in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(images), labels)
        loss.backward()
        optimizer.step()
    print(f"epoch {epoch + 1}: loss {loss.item():.4f}")
