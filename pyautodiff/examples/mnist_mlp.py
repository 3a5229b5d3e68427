"""The article's program: a 784-128-10 MLP trained on MNIST with CrossEntropyLoss and SGD.

    python -m pyautodiff.examples.mnist_mlp                  # the bundled 5,000-image sample
    python -m pyautodiff.examples.mnist_mlp --data /usr/share/datasets/fashion-mnist

Written exactly as for PyTorch; only the imports differ.
"""
import argparse
import time

import pyautodiff as torch
import pyautodiff.nn as nn
import pyautodiff.optim as optim
from pyautodiff.datasets import MNIST
from pyautodiff.utils.data import DataLoader


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.fc1 = nn.Linear(784, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = x.view(-1, 784)
        x = torch.relu(self.fc1(x))
        x = self.fc2(x)
        return x


def evaluate(model, loader):
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for images, labels in loader:
            predicted = model(images).argmax(dim=1)
            correct += (predicted == labels).sum().item()
            total += labels.shape[0]
    model.train()
    return correct / total


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="directory of MNIST-format IDX files "
                        "(default: the bundled 5,000-image MNIST sample)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--momentum", type=float, default=0.0)
    parser.add_argument("--batch-size", type=int, default=64)
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
    optimizer = optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)

    start = time.perf_counter()
    for epoch in range(args.epochs):
        running_loss = 0.0
        for images, labels in trainloader:
            optimizer.zero_grad()
            outputs = model(images)
            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
        print(f"Epoch {epoch + 1} | Loss: {running_loss / len(trainloader):.3f}")
    elapsed = time.perf_counter() - start
    print(f"Test accuracy: {evaluate(model, testloader):.4f}  ({elapsed:.2f} s training)")


if __name__ == "__main__":
    main()
