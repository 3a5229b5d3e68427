"""A small CNN (two convolutions with batch norm, max pooling and dropout) trained on
MNIST-format images.

    python -m pyautodiff.examples.cnn_fashion_mnist                 # the bundled MNIST sample
    python -m pyautodiff.examples.cnn_fashion_mnist --data /usr/share/datasets/fashion-mnist

Written exactly as for PyTorch; only the imports differ.
"""
import argparse
import time

import pyautodiff as torch
import pyautodiff.nn as nn
import pyautodiff.nn.functional as F
import pyautodiff.optim as optim
from pyautodiff.datasets import MNIST
from pyautodiff.examples.mnist_mlp import evaluate  # test accuracy, as in the MLP example
from pyautodiff.utils.data import DataLoader


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)     # 16 x 28 x 28
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)    # 32 x 14 x 14
        self.bn2 = nn.BatchNorm2d(32)
        self.pool = nn.MaxPool2d(2)
        self.dropout = nn.Dropout(0.25)
        self.fc1 = nn.Linear(32 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.bn1(self.conv1(x))))
        x = self.pool(F.relu(self.bn2(self.conv2(x))))
        x = self.dropout(F.relu(self.fc1(torch.flatten(x, 1))))
        return self.fc2(x)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="directory of MNIST-format IDX files, e.g. "
                        "/usr/share/datasets/fashion-mnist (default: the bundled MNIST sample)")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--optimizer", choices=("adam", "sgd"), default="adam")
    parser.add_argument("--lr", type=float, default=None, help="default: 1e-3 for Adam, 0.05 for SGD")
    parser.add_argument("--momentum", type=float, default=0.9, help="SGD momentum")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    train_set = MNIST(args.data, train=True)
    test_set = MNIST(args.data, train=False)
    print(f"data: {args.data or 'bundled MNIST sample'} ({len(train_set)} train, {len(test_set)} test), "
          f"threads: {torch.get_num_threads()}")
    trainloader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True)
    testloader = DataLoader(test_set, batch_size=1000)

    model = Net()
    criterion = nn.CrossEntropyLoss()
    if args.optimizer == "adam":
        optimizer = optim.Adam(model.parameters(), lr=args.lr or 1e-3)
    else:
        optimizer = optim.SGD(model.parameters(), lr=args.lr or 0.05, momentum=args.momentum)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)

    start = time.perf_counter()
    for epoch in range(args.epochs):
        running_loss = 0.0
        for images, labels in trainloader:
            optimizer.zero_grad()
            loss = criterion(model(images), labels)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
        scheduler.step()
        accuracy = evaluate(model, testloader)
        print(f"Epoch {epoch + 1} | Loss: {running_loss / len(trainloader):.3f} | "
              f"Test accuracy: {accuracy:.4f} | {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
