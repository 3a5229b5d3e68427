"""Text classification of fortune-cookie texts by category: Embedding + mean pooling + MLP.

    apt-get install fortunes          # Debian's fortune-cookie texts
    python -m pyautodiff.examples.text_classification
    python -m pyautodiff.examples.text_classification --categories computers food love sports

Each text of /usr/share/games/fortunes/<category> (texts separated by lines holding "%")
is one example labelled with its category.  Texts are lower-cased and split into words,
the training split's frequent words form the vocabulary, and the model averages the
word embeddings of a text and classifies the average with a small MLP.  The report gives
the accuracy per class next to the majority-class baseline.
"""
import argparse
import os
import re
import sys
import time
from collections import Counter

import numpy as np

import pyautodiff as torch
import pyautodiff.nn as nn
import pyautodiff.optim as optim
from pyautodiff.utils.data import DataLoader, TensorDataset

DEFAULT_DIR = "/usr/share/games/fortunes"
DEFAULT_CATEGORIES = ["computers", "food", "love", "science", "sports"]
PAD, UNKNOWN = 0, 1


def read_fortunes(directory, categories):
    """(texts, labels): every fortune of each category file, labelled by its index."""
    missing = [c for c in categories if not os.path.isfile(os.path.join(directory, c))]
    if missing:
        raise FileNotFoundError(
            f"fortune files {', '.join(missing)} not found in {directory}: install Debian's fortunes package "
            "(apt-get install fortunes) or pass --data DIR with files of texts separated by '%' lines")
    texts, labels = [], []
    for label, category in enumerate(categories):
        with open(os.path.join(directory, category), encoding="utf-8", errors="replace") as f:
            for text in re.split(r"^%\s*$", f.read(), flags=re.MULTILINE):
                if text.strip():
                    texts.append(text)
                    labels.append(label)
    return texts, np.array(labels, dtype=np.int64)


def tokenize(text):
    return re.findall(r"[a-z][a-z']*", text.lower())


def build_vocabulary(token_lists, max_size, min_count):
    counts = Counter(tok for tokens in token_lists for tok in tokens)
    words = [w for w, c in counts.most_common(max_size) if c >= min_count]
    return {w: i + 2 for i, w in enumerate(words)}  # 0 pads, 1 is any unknown word


def encode(token_lists, vocab, max_len):
    ids = np.full((len(token_lists), max_len), PAD, dtype=np.int64)
    for row, tokens in enumerate(token_lists):
        seq = [vocab.get(t, UNKNOWN) for t in tokens[:max_len]] or [UNKNOWN]
        ids[row, :len(seq)] = seq
    return ids


class BagOfEmbeddings(nn.Module):
    """Mean of the word embeddings of a text (padding excluded), then an MLP."""

    def __init__(self, vocab_size, dim, hidden, classes):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, dim, padding_idx=PAD)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Dropout(0.2), nn.Linear(hidden, classes))

    def forward(self, ids):
        lengths = (ids != PAD).sum(1, keepdim=True).to(torch.float32).clamp(min=1)
        pooled = self.embedding(ids).sum(1) / lengths  # the padding row is zero
        return self.mlp(pooled)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=DEFAULT_DIR, help=f"directory of fortune files (default {DEFAULT_DIR})")
    parser.add_argument("--categories", nargs="+", default=DEFAULT_CATEGORIES)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--max-len", type=int, default=80)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    try:
        texts, labels = read_fortunes(args.data, args.categories)
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    torch.manual_seed(args.seed)
    order = np.random.default_rng(args.seed).permutation(len(texts))
    n_test = len(texts) // 5
    test_idx, train_idx = order[:n_test], order[n_test:]
    tokens = [tokenize(t) for t in texts]
    vocab = build_vocabulary([tokens[i] for i in train_idx], max_size=8000, min_count=2)
    ids = encode(tokens, vocab, args.max_len)
    classes = len(args.categories)
    print(f"data: {len(texts)} fortunes in {classes} categories ({len(train_idx)} train, {n_test} test), "
          f"vocabulary {len(vocab) + 2} words")

    train = DataLoader(TensorDataset(torch.from_numpy(ids[train_idx]), torch.from_numpy(labels[train_idx])),
                       batch_size=args.batch_size, shuffle=True)
    model = BagOfEmbeddings(len(vocab) + 2, args.dim, 64, classes)
    optimizer = optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    criterion = nn.CrossEntropyLoss()
    start = time.perf_counter()
    for epoch in range(args.epochs):
        total = 0.0
        for batch_ids, batch_labels in train:
            optimizer.zero_grad()
            loss = criterion(model(batch_ids), batch_labels)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch_labels)
        print(f"epoch {epoch + 1}: train loss {total / len(train_idx):.4f}")

    model.eval()
    with torch.no_grad():
        predicted = model(torch.from_numpy(ids[test_idx])).argmax(dim=1).numpy()
    truth = labels[test_idx]
    majority = np.bincount(labels[train_idx], minlength=classes).argmax()
    accuracy = float((predicted == truth).mean())
    baseline = float((truth == majority).mean())
    print(f"\n{'category':<12} {'test texts':>10} {'accuracy':>9}")
    for c, name in enumerate(args.categories):
        mask = truth == c
        print(f"{name:<12} {int(mask.sum()):>10} {float((predicted[mask] == c).mean()) if mask.any() else 0:>9.3f}")
    print(f"test accuracy {accuracy:.3f} vs majority-class baseline {baseline:.3f} "
          f"(always '{args.categories[majority]}'), {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
