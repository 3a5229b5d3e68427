"""DataLoader, TensorDataset, MNIST reader and the main example."""
import subprocess
import sys

import numpy as np

import pyautodiff as torch
from pyautodiff.datasets import MNIST
from pyautodiff.utils.data import DataLoader, Dataset, TensorDataset


def test_tensor_dataset_batches_cover_everything_once():
    x = torch.arange(10).reshape(10, 1).float()
    y = torch.arange(10)
    loader = DataLoader(TensorDataset(x, y), batch_size=4, shuffle=True)
    assert len(loader) == 3
    seen = []
    for xb, yb in loader:
        assert xb.shape[0] == yb.shape[0] <= 4
        np.testing.assert_array_equal(xb.numpy()[:, 0], yb.numpy())
        seen += yb.tolist()
    assert sorted(seen) == list(range(10)) and seen != list(range(10))
    assert [b[1].shape[0] for b in DataLoader(TensorDataset(x, y), batch_size=4, drop_last=True)] == [4, 4]


def test_shuffle_is_reproducible_with_manual_seed():
    ds = TensorDataset(torch.arange(50))
    torch.manual_seed(7)
    a = [b[0].tolist() for b in DataLoader(ds, batch_size=8, shuffle=True)]
    torch.manual_seed(7)
    b = [b[0].tolist() for b in DataLoader(ds, batch_size=8, shuffle=True)]
    assert a == b


def test_generic_dataset_and_collate():
    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return torch.tensor([float(i)]), i * i

    batches = list(DataLoader(Squares(), batch_size=2))
    assert batches[0][0].shape == (2, 1) and batches[0][1].tolist() == [0, 1]
    assert batches[-1][1].tolist() == [16]
    custom = list(DataLoader(Squares(), batch_size=5, collate_fn=lambda s: len(s)))
    assert custom == [5]


def test_bundled_mnist_sample():
    train, test = MNIST(train=True), MNIST(train=False)
    assert len(train) == 4000 and len(test) == 1000
    img, label = train[0]
    assert img.shape == (1, 28, 28) and img.dtype == torch.float32
    assert 0 <= img.numpy().min() and img.numpy().max() <= 1 and label.dtype == torch.int64
    assert MNIST(flatten=True).data.shape == (4000, 784)
    counts = np.bincount(test.targets.numpy(), minlength=10)
    assert (counts == 100).all()


def run_python(args, cwd):
    """Runs Python in a clean directory, so the installed package is the one imported."""
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=str(cwd), timeout=300)


def test_main_example_trains_and_the_loss_falls(tmp_path):
    out = run_python(["-m", "pyautodiff.examples.mnist_mlp", "--epochs", "3", "--lr", "0.05"], tmp_path)
    assert out.returncode == 0, out.stderr
    losses = [float(line.split("Loss:")[1]) for line in out.stdout.splitlines() if line.startswith("Epoch")]
    assert len(losses) == 3 and losses[2] < losses[0]
    acc = float(out.stdout.split("Test accuracy:")[1].split()[0])
    assert acc > 0.8


ARTICLE_PROGRAM = '''
import pyautodiff as torch
import pyautodiff.nn as nn
import pyautodiff.optim as optim

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

from pyautodiff.datasets import MNIST
from pyautodiff.utils.data import DataLoader
trainloader = DataLoader(MNIST(train=True), batch_size=64, shuffle=True)
model = Net()
criterion = nn.CrossEntropyLoss()
optimizer = optim.SGD(model.parameters(), lr=0.01)
for epoch in range(2):
    running_loss = 0.0
    for images, labels in trainloader:
        optimizer.zero_grad()
        outputs = model(images)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        running_loss += loss.item()
    print(f"Epoch {epoch+1} | Loss: {running_loss/len(trainloader):.3f}")
'''


def test_article_program_runs_with_only_imports_changed(tmp_path):
    script = tmp_path / "article.py"
    script.write_text(ARTICLE_PROGRAM)
    out = run_python([str(script)], tmp_path)
    assert out.returncode == 0, out.stderr
    losses = [float(line.split("Loss:")[1]) for line in out.stdout.splitlines()]
    assert len(losses) == 2 and losses[1] < losses[0]
