"""LeNet-5 on handwritten digits, in the style of the classic PyTorch MNIST tutorial.

Trains on the 8x8 digits that ship with stepgrad, scaled up to MNIST's 28x28, so it
runs offline in seconds:

    stepgrad run examples/lenet_mnist.py
    stepgrad run examples/lenet_mnist.py --epochs 3
    stepgrad run examples/lenet_mnist.py --data DIR   # MNIST from its IDX files in DIR
"""

import argparse

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
        self.fc1 = nn.Linear(16 * 4 * 4, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)  # (N, 6, 12, 12)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)  # (N, 16, 4, 4)
        x = x.view(x.size(0), -1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


def load_data(data_dir):
    if data_dir:
        transform = transforms.Compose(
            [transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))]
        )
        train_set = datasets.MNIST(data_dir, train=True, transform=transform)
        test_set = datasets.MNIST(data_dir, train=False, transform=transform)
    else:
        # the 8x8 digits scaled up to MNIST's 28x28
        transform = transforms.Compose(
            [transforms.Resize(28), transforms.Normalize((0.3,), (0.4,))]
        )
        train_set = datasets.Digits(train=True, transform=transform)
        test_set = datasets.Digits(train=False, transform=transform)
    return train_set, test_set


def train(model, loader, criterion, optimizer, epoch):
    model.train()
    running_loss = 0.0
    for inputs, labels in loader:
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        running_loss += loss.item()
    print(f"epoch {epoch}: loss {running_loss / len(loader):.4f}")


def test(model, loader):
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for inputs, labels in loader:
            outputs = model(inputs)
            _, predicted = torch.max(outputs, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()
    print(f"test accuracy: {100 * correct / total:.1f}% of {total} images")


def main():
    parser = argparse.ArgumentParser(description="LeNet-5 on handwritten digits")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--data", metavar="DIR", help="a folder with MNIST's IDX files")
    args = parser.parse_args()

    torch.manual_seed(0)
    train_set, test_set = load_data(args.data)
    train_loader = DataLoader(train_set, batch_size=32, shuffle=True)
    test_loader = DataLoader(test_set, batch_size=256)

    model = LeNet()
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    for epoch in range(1, args.epochs + 1):
        train(model, train_loader, criterion, optimizer, epoch)
    test(model, test_loader)


if __name__ == "__main__":
    main()
