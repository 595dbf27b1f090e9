"""The benchmark cases in native MLX (mlx.nn, mlx.optimizers), eager and mx.compile'd.

Run by `mlx-bench peers`, which passes the cases and their shapes; see bench_common.py for the
command line and the output. Peers: "mlx-eager" and "mlx-compiled".

Every step ends by reading one scalar back to the host (`.item()`): the loss for the training
cases, the first element of the result for the others, as the Rust side does. Training steps
evaluate the loss, the updated parameters and the optimizer state together (`mx.eval(loss,
state)`), the usual MLX training loop.

With --census, nothing is timed: for each training case the script prints how many of each MLX
primitive one eager step leaves pending (`mlx-bench census` sets this against burn-mlx).
"""

import io
import os
import re
import sys
import time
import traceback
from collections import Counter
from functools import partial

import mlx.core as mx
import mlx.nn as nn
import mlx.optimizers as optim
from mlx.utils import tree_flatten

from bench_common import chain, emit, parse_args, run_all

# Adam as configured on every side: Burn's Adam corrects the moments' bias, MLX's does not by
# default, so it is turned on here; epsilon is PyTorch's and MLX's default (Burn's is 1e-5).
LEARNING_RATE = 1e-3
ADAM_EPS = 1e-8

DTYPES = {"f32": mx.float32, "bf16": mx.bfloat16}


class Mlp(nn.Module):
    def __init__(self, dims):
        super().__init__()
        self.layers = [nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:])]

    def __call__(self, x):
        for layer in self.layers[:-1]:
            x = nn.relu(layer(x))
        return self.layers[-1](x)


class Cnn(nn.Module):
    """conv3x3 - relu - conv3x3 - relu - maxpool2 - linear - relu - linear, on NHWC images
    (MLX's layout; the flattened features are as many as in the NCHW models)."""

    def __init__(self, side, channels, hidden, classes):
        super().__init__()
        c1, c2 = channels
        pooled = (side - 4) // 2
        self.conv1 = nn.Conv2d(1, c1, 3)
        self.conv2 = nn.Conv2d(c1, c2, 3)
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(c2 * pooled * pooled, hidden)
        self.fc2 = nn.Linear(hidden, classes)

    def __call__(self, x):
        x = nn.relu(self.conv1(x))
        x = self.pool(nn.relu(self.conv2(x)))
        x = x.reshape(x.shape[0], -1)
        return self.fc2(nn.relu(self.fc1(x)))


class Encoder(nn.Module):
    """mlx.nn.TransformerEncoder: pre-norm, GELU, dropout 0, final LayerNorm (MLX always has
    one; the Burn and PyTorch models add theirs)."""

    def __init__(self, d_model, heads, d_ff, layers):
        super().__init__()
        self.encoder = nn.TransformerEncoder(
            layers, d_model, heads, d_ff, dropout=0.0, activation=nn.gelu, norm_first=True
        )
        # MLX's encoder layer builds its attention without biases; Burn's and PyTorch's have
        # them, so the same parameters are trained everywhere.
        for layer in self.encoder.layers:
            layer.attention = nn.MultiHeadAttention(d_model, heads, bias=True)

    def __call__(self, x):
        return self.encoder(x, None)


def training_step(model, loss_fn, inputs, compiled):
    """A step function: forward, backward and Adam update; returns the loss as a float."""
    mx.eval(model.parameters())
    optimizer = optim.Adam(learning_rate=LEARNING_RATE, eps=ADAM_EPS, bias_correction=True)
    # Create the optimizer state now, so that the compiled step sees it as an input.
    optimizer.init(model.trainable_parameters())
    state = [model.state, optimizer.state]
    loss_and_grad = nn.value_and_grad(model, loss_fn)

    def step(*xs):
        loss, grads = loss_and_grad(model, *xs)
        optimizer.update(model, grads)
        return loss

    if compiled:
        step = partial(mx.compile, inputs=state, outputs=state)(step)

    building, stepping = [], []

    def run():
        started = time.perf_counter()
        loss = step(*inputs)
        issued = time.perf_counter()
        mx.eval(loss, state)
        value = loss.item()
        building.append(issued - started)
        stepping.append(time.perf_counter() - started)
        return value

    def report(warmup):
        # MLX_BENCH_SPLIT=1: the line burn-mlx's side prints too (see burn_cases.rs).
        b, s = sorted(building[warmup:]), sorted(stepping[warmup:])
        if os.environ.get("MLX_BENCH_SPLIT") == "1" and b:
            mode = "compiled" if compiled else "eager"
            print(f"split ({mode}): issuing the ops {b[len(b) // 2] * 1e3:.3f} ms of a"
                  f" {s[len(s) // 2] * 1e3:.3f} ms step (medians)", file=sys.stderr, flush=True)

    run.report = report

    # For --census: one more step, left pending.
    run.pending = lambda: [step(*inputs), state]
    return run


def cross_entropy(model, x, y):
    return nn.losses.cross_entropy(model(x), y, reduction="mean")


def mse(model, x, y):
    return nn.losses.mse_loss(model(x), y, reduction="mean")


def compute_step(f, inputs, compiled, first):
    """A step function for a plain computation: runs `f`, reads `first(result)`."""
    if compiled:
        f = mx.compile(f)
    mx.eval(*inputs)

    def run():
        return first(f(*inputs)).item()

    return run


def build(case, peer):
    compiled = peer == "mlx-compiled"
    kind = case["kind"]
    mx.random.seed(1)
    if kind == "mlp":
        b, dims = case["batch"], case["dims"]
        x = mx.random.uniform(shape=(b, dims[0]))
        y = mx.random.randint(0, dims[-1], (b,))
        return training_step(Mlp(dims), cross_entropy, (x, y), compiled)
    if kind == "cnn":
        b, side = case["batch"], case["side"]
        model = Cnn(side, case["channels"], case["hidden"], case["classes"])
        x = mx.random.uniform(shape=(b, side, side, 1))
        y = mx.random.randint(0, case["classes"], (b,))
        return training_step(model, cross_entropy, (x, y), compiled)
    if kind == "transformer":
        b, s, d = case["batch"], case["seq"], case["d_model"]
        model = Encoder(d, case["heads"], case["d_ff"], case["layers"])
        x = mx.random.normal((b, s, d))
        target = mx.random.normal((b, s, d))
        return training_step(model, mse, (x, target), compiled)
    if kind == "chain":
        x = mx.random.uniform(shape=(case["len"],))
        return compute_step(chain(case["ops"]), (x,), compiled, lambda r: r[0])
    if kind == "matmul":
        n, dtype = case["n"], DTYPES[case["dtype"]]
        a = mx.random.normal((n, n)).astype(dtype)
        b = mx.random.normal((n, n)).astype(dtype)
        return compute_step(lambda a, b: a @ b, (a, b), compiled, lambda r: r[0, 0])
    if kind == "exp":
        x = mx.random.normal((case["len"],))
        return compute_step(lambda x: mx.exp(x) * 2 + 1, (x,), compiled, lambda r: r[0])
    raise ValueError(f"unknown case kind {kind!r}")


def census(args):
    """Counts the primitives of one eager training step's pending graph, per case (after the
    warm-up steps, so that parameters and optimizer state exist and are computed)."""
    for case in args.cases:
        try:
            step = build(case, "mlx-eager")
            if not hasattr(step, "pending"):
                continue
            for _ in range(max(args.warmup, 1)):
                step()
            dot = io.StringIO()
            arrays = [v for _, v in tree_flatten(step.pending()) if isinstance(v, mx.array)]
            mx.export_to_dot(dot, *arrays)
            counts = Counter(re.findall(r'label ="([^"]+)", shape=rectangle', dot.getvalue()))
            emit({"peer": "mlx-eager", "case": case["id"], "census": dict(counts)})
        except Exception as e:
            traceback.print_exc(file=sys.stderr)
            emit({"peer": "mlx-eager", "case": case["id"], "error": f"{type(e).__name__}: {e}"})


def device_name(device):
    try:
        return mx.device_info(device).get("device_name", "")
    except Exception:  # older MLX: device_info() takes no device
        return ""


def main():
    args = parse_args(__doc__)
    device = mx.gpu if args.device == "gpu" else mx.cpu
    if args.device == "gpu" and not mx.is_available(mx.gpu):
        emit({"skip": "this MLX has no GPU"})
        return
    mx.set_default_device(device)
    emit(
        {
            "info": {
                "framework": "mlx",
                "version": mx.__version__,
                "device": args.device,
                "device_name": device_name(device),
            }
        }
    )
    if args.census:
        census(args)
    else:
        run_all(args, ["mlx-eager", "mlx-compiled"], build)


if __name__ == "__main__":
    main()
