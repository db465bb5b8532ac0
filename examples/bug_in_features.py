"""LeNet with one classic bug: fc1's in_features is worked out for the wrong image size.

Two 5x5 convolutions, each followed by 2x2 pooling, take a 28x28 image to 16 maps of
4x4 (28 -> 24 -> 12 -> 8 -> 4), so fc1 needs 16 * 4 * 4 = 256 inputs, not 16 * 7 * 7.
`stepgrad run examples/bug_in_features.py` reports the failing line and the fix.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.utils.data import DataLoader
from torchvision import datasets, transforms


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 7 * 7, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(x.size(0), -1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


transform = transforms.Compose([transforms.Resize(28), transforms.Normalize((0.3,), (0.4,))])
train_set = datasets.Digits(train=True, transform=transform)
train_loader = DataLoader(train_set, batch_size=32, shuffle=True)

torch.manual_seed(0)
net = LeNet()
criterion = nn.CrossEntropyLoss()
optimizer = optim.SGD(net.parameters(), lr=0.01, momentum=0.9)

for epoch in range(2):
    running_loss = 0.0
    for inputs, labels in train_loader:
        optimizer.zero_grad()
        outputs = net(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        running_loss += loss.item()
    print(f"epoch {epoch + 1}: loss {running_loss / len(train_loader):.4f}")
