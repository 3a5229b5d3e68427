"""The article's program: a 784-128-10 MLP trained on MNIST with CrossEntropyLoss and SGD.

    python -m pyautodiff.examples.mnist_mlp                  # the bundled 5,000-image sample
    python -m pyautodiff.examples.mnist_mlp --data /usr/share/datasets/fashion-mnist
    python -m pyautodiff.examples.mnist_mlp --trainer --plot curves.png

Written exactly as for PyTorch; only the imports differ.  With --trainer the same model,
optimizer, data loader and epochs go through pyautodiff.train.Trainer.fit instead of the
hand-written loop (same seed, same training, same test accuracy; a live progress bar per
epoch when stdout is a terminal).  Its "Epoch N | Loss" line comes from the history, whose
loss is the mean over samples: the loop prints the mean over batches, so the two differ in
the third decimal when the last batch is partial (the bundled 4,000 images in batches
of 64 end with one of 32).
"""
import argparse
import time

import pyautodiff as torch
import pyautodiff.nn as nn
import pyautodiff.optim as optim
from pyautodiff.datasets import MNIST
from pyautodiff.train import History, LambdaCallback, Trainer
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
    parser.add_argument("--trainer", action="store_true",
                        help="train through pyautodiff.train.Trainer.fit (same model, optimizer, loader and "
                        "epochs; a progress bar per epoch with loss, accuracy and samples/s when stdout is a "
                        "terminal) instead of the hand-written loop")
    parser.add_argument("--plot", metavar="PATH", default=None,
                        help="write a PNG of the per-epoch training loss and accuracy, with the test set as "
                        "validation data; works with or without --trainer (the hand-written loop records its "
                        "loss and the test accuracy after each epoch). Needs matplotlib: "
                        "pip install pyautodiff[plot]")
    args = parser.parse_args(argv)
    if args.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            parser.error("--plot needs matplotlib, which is not installed; install it with: "
                         "pip install pyautodiff[plot]")

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
    if args.trainer:
        history = fit_with_trainer(model, criterion, optimizer, trainloader, testloader, args.epochs)
    else:
        history = History() if args.plot else None
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
            if history is not None:
                history.append(epoch, {"loss": running_loss / len(trainloader),
                                       "val_accuracy": evaluate(model, testloader)})
    elapsed = time.perf_counter() - start
    print(f"Test accuracy: {evaluate(model, testloader):.4f}  ({elapsed:.2f} s training)")
    if args.plot:
        history.plot(args.plot, title=f"784-128-10 MLP on {args.data or 'the bundled MNIST sample'} "
                     "(validation: the test set)")
        print(f"Plot written to {args.plot}")


def fit_with_trainer(model, criterion, optimizer, trainloader, testloader, epochs):
    """The same training through Trainer.fit; prints the loop's per-epoch line from the
    history as each epoch ends (after the epoch's progress bar, which comes first)."""
    def print_epoch(trainer, epoch, logs):
        print(f"Epoch {epoch + 1} | Loss: {trainer.history['loss'][-1]:.3f}", flush=True)

    trainer = Trainer(model, criterion, optimizer, metrics=["accuracy"],
                      callbacks=[LambdaCallback(on_epoch_end=print_epoch)])
    return trainer.fit(trainloader, epochs=epochs, val_data=testloader)


if __name__ == "__main__":
    main()
