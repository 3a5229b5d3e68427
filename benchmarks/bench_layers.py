"""Training steps of the recurrent and attention layers (forward, backward, Adam update),
pyautodiff vs PyTorch (when installed), interleaved in one process with equal threads:
an LSTM, a GRU and an Elman RNN over 50 steps of a batch of 32 (128 -> 256), and a
2-layer Transformer encoder (d_model 128, 4 heads, feed-forward 512) on 32 sequences of
64 tokens.  There is no NumPy contender: a hand-written NumPy backward of these layers
would be a project of its own."""
import argparse

from benchmarks.common import machine, print_table, time_against_torch


def cases(lib):
    """name -> one training step of library `lib`."""
    steps = {}
    for name in ("LSTM", "GRU", "RNN"):
        lib.manual_seed(0)
        layer = getattr(lib.nn, name)(128, 256, batch_first=True)
        head = lib.nn.Linear(256, 10)
        opt = lib.optim.Adam(list(layer.parameters()) + list(head.parameters()), lr=1e-3)
        x = lib.randn(32, 50, 128)
        y = lib.randint(0, 10, (32,))

        def step(layer=layer, head=head, opt=opt, x=x, y=y):
            opt.zero_grad()
            out, _ = layer(x)
            loss = lib.nn.functional.cross_entropy(head(out[:, -1]), y)
            loss.backward()
            opt.step()
        steps[f"{name} 128->256, 50 steps, batch 32"] = step
    lib.manual_seed(0)
    enc_layer = lib.nn.TransformerEncoderLayer(128, 4, 512, dropout=0.0, batch_first=True)
    extra = {"enable_nested_tensor": False} if lib.__name__ == "torch" else {}
    encoder = lib.nn.TransformerEncoder(enc_layer, 2, **extra)
    t_opt = lib.optim.Adam(encoder.parameters(), lr=1e-3)
    tokens = lib.randn(32, 64, 128)

    def transformer_step():
        t_opt.zero_grad()
        loss = encoder(tokens).pow(2).mean()
        loss.backward()
        t_opt.step()
    steps["Transformer encoder 2x(128, 4 heads, 512), 32x64"] = transformer_step
    return steps


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    import pyautodiff

    rows = []
    for name, t in time_against_torch(cases, rounds=5, min_time=0.2).items():
        row = [name, f"{t['ours'] * 1e3:.2f}"]
        if "torch" in t:
            row += [f"{t['torch'] * 1e3:.2f}", f"{t['torch'] / t['ours']:.2f}x"]
        rows.append(row)
    header = ["training step", "ours ms", "torch ms", "vs torch"][:len(rows[0])]
    return print_table(f"layers ({pyautodiff.get_num_threads()} threads) — {machine()}", header, rows)


if __name__ == "__main__":
    main()
