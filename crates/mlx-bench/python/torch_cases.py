"""The benchmark cases in PyTorch (torch.nn, torch.optim.Adam), eager.

Run by `mlx-bench peers`, which passes the cases and their shapes; see bench_common.py for the
command line and the output. Peer: "torch". Without PyTorch it prints a `skip` line and exits
successfully; `--device gpu` needs CUDA.

Every step ends by reading one scalar back to the host (`.item()`, which waits for the GPU): the
loss for the training cases, after the optimizer step, and the first element of the result for
the others.
"""

import os

from bench_common import chain, emit, parse_args, run_all

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:  # PyTorch is optional: the driver shows the peer as skipped
    torch = None
    IMPORT_ERROR = str(e)

# As on the other sides: Adam, learning rate 1e-3, epsilon 1e-8 (PyTorch's defaults otherwise).
LEARNING_RATE = 1e-3
ADAM_EPS = 1e-8


def mlp(dims):
    layers = []
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
        if i > 0:
            layers.append(nn.ReLU())
        layers.append(nn.Linear(a, b))
    return nn.Sequential(*layers)


def cnn(side, channels, hidden, classes):
    c1, c2 = channels
    pooled = (side - 4) // 2
    return nn.Sequential(
        nn.Conv2d(1, c1, 3),
        nn.ReLU(),
        nn.Conv2d(c1, c2, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(c2 * pooled * pooled, hidden),
        nn.ReLU(),
        nn.Linear(hidden, classes),
    )


def encoder(d_model, heads, d_ff, layers):
    """Pre-norm, GELU, dropout 0 and a final LayerNorm, as mlx.nn.TransformerEncoder."""
    layer = nn.TransformerEncoderLayer(
        d_model, heads, d_ff, dropout=0.0, activation="gelu", batch_first=True, norm_first=True
    )
    return nn.TransformerEncoder(
        layer, layers, norm=nn.LayerNorm(d_model), enable_nested_tensor=False
    )


def training_step(model, loss_fn, x, y):
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE, eps=ADAM_EPS)

    def run():
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss.item()

    return run


def compute_step(f, inputs, first):
    def run():
        with torch.no_grad():
            return first(f(*inputs)).item()

    return run


def build_on(device):
    def build(case, _peer):
        kind = case["kind"]
        torch.manual_seed(1)
        normal = lambda *shape: torch.randn(*shape, device=device)
        if kind == "mlp":
            b, dims = case["batch"], case["dims"]
            x = torch.rand(b, dims[0], device=device)
            y = torch.randint(0, dims[-1], (b,), device=device)
            return training_step(mlp(dims).to(device), F.cross_entropy, x, y)
        if kind == "cnn":
            b, side, classes = case["batch"], case["side"], case["classes"]
            model = cnn(side, case["channels"], case["hidden"], classes).to(device)
            x = torch.rand(b, 1, side, side, device=device)
            y = torch.randint(0, classes, (b,), device=device)
            return training_step(model, F.cross_entropy, x, y)
        if kind == "transformer":
            b, s, d = case["batch"], case["seq"], case["d_model"]
            model = encoder(d, case["heads"], case["d_ff"], case["layers"]).to(device)
            return training_step(model, F.mse_loss, normal(b, s, d), normal(b, s, d))
        if kind == "chain":
            x = torch.rand(case["len"], device=device)
            return compute_step(chain(case["ops"]), (x,), lambda r: r[0])
        if kind == "matmul":
            n = case["n"]
            dtype = {"f32": torch.float32, "bf16": torch.bfloat16}[case["dtype"]]
            a, b = normal(n, n).to(dtype), normal(n, n).to(dtype)
            return compute_step(lambda a, b: a @ b, (a, b), lambda r: r[0, 0])
        if kind == "exp":
            x = normal(case["len"])
            return compute_step(lambda x: torch.exp(x) * 2 + 1, (x,), lambda r: r[0])
        raise ValueError(f"unknown case kind {kind!r}")

    return build


def main():
    args = parse_args(__doc__)
    if torch is None:
        emit({"skip": f"PyTorch is not installed ({IMPORT_ERROR})"})
        return
    if args.device == "gpu":
        if not torch.cuda.is_available():
            emit({"skip": "PyTorch sees no CUDA GPU"})
            return
        device = torch.device("cuda")
        name = torch.cuda.get_device_name(device)
        # MLX multiplies float32 matrices with TF32 on NVIDIA GPUs unless MLX_ENABLE_TF32=0;
        # PyTorch follows the same setting so that both do the same arithmetic.
        tf32 = os.environ.get("MLX_ENABLE_TF32", "1") != "0"
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
    else:
        device = torch.device("cpu")
        name = f"{torch.get_num_threads()} threads"
    info = {"framework": "torch", "version": torch.__version__, "device": args.device}
    emit({"info": {**info, "device_name": name}})
    run_all(args, ["torch"], build_on(device))


if __name__ == "__main__":
    main()
