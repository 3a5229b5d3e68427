"""Matrix factorisation recommender: user and item Embeddings plus biases, trained with Adam.

    python -m pyautodiff.examples.recommender                       # synthetic ratings
    python -m pyautodiff.examples.recommender --data ml-100k/u.data # MovieLens 100k
    python -m pyautodiff.examples.recommender --data ml-latest-small/ratings.csv

The rating of item i by user u is predicted as  mu + b_u + b_i + <p_u, q_i>, with the
global mean mu and learned biases and factors.  With --data it reads MovieLens ratings
(`u.data`: user, item, rating, timestamp separated by tabs; or `ratings.csv` with a
header userId,movieId,rating,timestamp); without it, it makes a SYNTHETIC rating set
from a fixed seed: a low-rank matrix plus noise, sampled sparsely.  The report gives the
test RMSE against the baseline that predicts the global mean for everything.
"""
import argparse
import csv
import sys
import time

import numpy as np

import pyautodiff as torch
import pyautodiff.nn as nn
import pyautodiff.optim as optim
from pyautodiff.utils.data import DataLoader, TensorDataset


def read_ratings(path):
    """(users, items, ratings) as arrays, from u.data (tabs) or ratings.csv (header)."""
    users, items, ratings = [], [], []
    with open(path, newline="", encoding="utf-8") as f:
        if path.endswith(".csv"):
            rows = csv.reader(f)
            header = next(rows, None)
            if not header or [h.strip() for h in header[:3]] != ["userId", "movieId", "rating"]:
                raise ValueError(f"{path}: expected a header starting userId,movieId,rating, got {header}")
        else:
            rows = (line.split("\t") for line in f if line.strip())
        for n, row in enumerate(rows, start=1):
            try:
                users.append(int(row[0]))
                items.append(int(row[1]))
                ratings.append(float(row[2]))
            except (IndexError, ValueError):
                raise ValueError(f"{path}: line {n} is not user, item, rating: {row!r}") from None
    if not ratings:
        raise ValueError(f"{path}: no ratings")
    return np.array(users), np.array(items), np.array(ratings, dtype=np.float32)


def synthetic_ratings(seed, n_users=600, n_items=400, rank=4, n_ratings=30000):
    """A low-rank rating matrix (rank `rank`, values around 3.5) plus N(0, 0.25^2) noise,
    observed at `n_ratings` random (user, item) pairs."""
    rng = np.random.default_rng(seed)
    p = rng.normal(0, 0.6, (n_users, rank))
    q = rng.normal(0, 0.6, (n_items, rank))
    user_bias, item_bias = rng.normal(0, 0.3, n_users), rng.normal(0, 0.3, n_items)
    pairs = rng.choice(n_users * n_items, size=n_ratings, replace=False)
    users, items = pairs // n_items, pairs % n_items
    ratings = 3.5 + user_bias[users] + item_bias[items] + (p[users] * q[items]).sum(1)
    ratings += rng.normal(0, 0.25, n_ratings)
    return users, items, ratings.astype(np.float32)


class MatrixFactorization(nn.Module):
    def __init__(self, n_users, n_items, factors, global_mean):
        super().__init__()
        self.user_factors = nn.Embedding(n_users, factors)
        self.item_factors = nn.Embedding(n_items, factors)
        self.user_bias = nn.Embedding(n_users, 1)
        self.item_bias = nn.Embedding(n_items, 1)
        self.global_mean = global_mean
        with torch.no_grad():
            for emb in (self.user_factors, self.item_factors):
                emb.weight.copy_(torch.randn(emb.weight.shape) * 0.1)
            self.user_bias.weight.zero_()
            self.item_bias.weight.zero_()

    def forward(self, users, items):
        dot = (self.user_factors(users) * self.item_factors(items)).sum(1)
        return dot + self.user_bias(users).squeeze(1) + self.item_bias(items).squeeze(1) + self.global_mean


def rmse(a, b):
    return float(np.sqrt(np.mean((np.asarray(a, dtype=np.float64) - b) ** 2)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="MovieLens u.data or ratings.csv (default: synthetic ratings)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--factors", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    if args.data:
        try:
            users, items, ratings = read_ratings(args.data)
        except (OSError, ValueError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        source = args.data
    else:
        users, items, ratings = synthetic_ratings(args.seed)
        source = f"SYNTHETIC low-rank ratings (seed {args.seed}; pass --data for MovieLens)"
    # Contiguous ids for the embeddings.
    _, users = np.unique(users, return_inverse=True)
    _, items = np.unique(items, return_inverse=True)
    n_users, n_items = int(users.max()) + 1, int(items.max()) + 1
    order = np.random.default_rng(args.seed).permutation(len(ratings))
    n_test = len(ratings) // 5
    test, train = order[:n_test], order[n_test:]
    print(f"data: {source}: {len(ratings)} ratings, {n_users} users, {n_items} items "
          f"({len(train)} train, {n_test} test)")

    torch.manual_seed(args.seed)
    global_mean = float(ratings[train].mean())
    model = MatrixFactorization(n_users, n_items, args.factors, global_mean)
    optimizer = optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    loader = DataLoader(TensorDataset(torch.from_numpy(users[train].astype(np.int64)),
                                      torch.from_numpy(items[train].astype(np.int64)),
                                      torch.from_numpy(ratings[train])),
                        batch_size=args.batch_size, shuffle=True)
    criterion = nn.MSELoss()
    test_users = torch.from_numpy(users[test].astype(np.int64))
    test_items = torch.from_numpy(items[test].astype(np.int64))
    start = time.perf_counter()
    for epoch in range(args.epochs):
        total = 0.0
        for u, i, r in loader:
            optimizer.zero_grad()
            loss = criterion(model(u, i), r)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(r)
        with torch.no_grad():
            test_rmse = rmse(model(test_users, test_items).numpy(), ratings[test])
        print(f"epoch {epoch + 1}: train RMSE {np.sqrt(total / len(train)):.4f}, test RMSE {test_rmse:.4f}")
    baseline = rmse(np.full(n_test, global_mean), ratings[test])
    print(f"test RMSE {test_rmse:.4f} vs global-mean baseline {baseline:.4f}, {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
