"""A small CNN with one classic bug: the `view` before the classifier assumes 8x8 maps.

Two 3x3 convolutions (padding 1) each followed by 2x2 pooling take a 28x28 image to
32 maps of 7x7, so each sample has 32 * 7 * 7 values, not 32 * 8 * 8. Flattening with
`x.view(x.size(0), -1)` never gets this wrong.
`stepgrad run examples/bug_view_size.py` reports the failing line and the fix.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import DataLoader
from torchvision import datasets, transforms


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.pool = nn.MaxPool2d(2, 2)
        self.fc1 = nn.Linear(32 * 8 * 8, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))  # (N, 16, 14, 14)
        x = self.pool(F.relu(self.conv2(x)))  # (N, 32, 7, 7)
        x = x.view(-1, 32 * 8 * 8)
        x = F.relu(self.fc1(x))
        return self.fc2(x)


transform = transforms.Compose([transforms.Resize(28), transforms.Normalize((0.3,), (0.4,))])
train_loader = DataLoader(
    datasets.Digits(train=True, transform=transform), batch_size=32, shuffle=True
)

torch.manual_seed(0)
model = SmallCNN()
criterion = nn.CrossEntropyLoss()
optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

for epoch in range(2):
    for inputs, labels in train_loader:
        optimizer.zero_grad()
        loss = criterion(model(inputs), labels)
        loss.backward()
        optimizer.step()
    print(f"epoch {epoch + 1}: loss {loss.item():.4f}")
