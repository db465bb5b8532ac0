"""LeNet-5 on MNIST, written the way the classic PyTorch tutorials write it.

A person's script, not part of stepgrad: `benchmarks/script_speed.py` runs it under
`stepgrad run`, under plain python with its torch imports rewritten to the engine,
and under PyTorch itself.

    python lenet_mnist.py --data ROOT [--batches 200] [--batch-size 64]

ROOT holds MNIST/raw/ as torchvision lays it out; without --data the script trains
on the 8x8 digits that ship with stepgrad (which torchvision does not have),
centred in a 28x28 frame.
"""

import argparse
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
import torchvision.datasets as datasets
import torchvision.transforms as transforms


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 4 * 4, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(-1, self.num_flat_features(x))
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        x = self.fc3(x)
        return F.log_softmax(x, dim=1)

    def num_flat_features(self, x):
        size = x.size()[1:]  # all dimensions except the batch dimension
        num_features = 1
        for s in size:
            num_features *= s
        return num_features


def train(args, model, device, train_loader, optimizer, epoch, budget):
    model.train()
    done = 0
    for batch_idx, (data, target) in enumerate(train_loader):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        done += 1
        if batch_idx % args.log_interval == 0:
            seen, total = batch_idx * len(data), len(train_loader.dataset)
            print(
                f"Train Epoch: {epoch} [{seen}/{total} "
                f"({100.0 * batch_idx / len(train_loader):.0f}%)]\tLoss: {loss.item():.6f}"
            )
        if done == budget:
            break
    return done


def main():
    parser = argparse.ArgumentParser(description="PyTorch MNIST Example")
    parser.add_argument("--data", default=None, help="folder holding MNIST/raw/")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--batches", type=int, default=200, help="batches to train on")
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--momentum", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--log-interval", type=int, default=50)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    device = torch.device("cpu")
    if args.data:
        transform = transforms.Compose(
            [transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))]
        )
        train_set = datasets.MNIST(args.data, train=True, download=False, transform=transform)
    else:
        transform = transforms.Compose(
            [transforms.CenterCrop(28), transforms.Normalize((0.1307,), (0.3081,))]
        )
        train_set = datasets.Digits(train=True, transform=transform)
    train_loader = torch.utils.data.DataLoader(train_set, batch_size=args.batch_size, shuffle=True)

    model = Net().to(device)
    optimizer = optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)

    start = time.perf_counter()
    done, epoch = 0, 0
    while done < args.batches:
        epoch += 1
        done += train(args, model, device, train_loader, optimizer, epoch, args.batches - done)
    print(f"trained {done} batches in {time.perf_counter() - start:.3f} s")


if __name__ == "__main__":
    main()
