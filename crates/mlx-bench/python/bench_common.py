"""Shared by mlx_cases.py and torch_cases.py: the command line, the timing loop and the output.

The Rust driver (`mlx-bench peers`) owns the case list and its shapes and passes them here as
JSON, so every peer runs the same shapes. Every result goes to stdout as one JSON object per
line:

    {"info": {"framework": ..., "version": ..., "device": ..., "device_name": ...}}
    {"peer": "mlx-eager", "case": "mlp", "times": [seconds, ...], "value": 2.31}
    {"peer": "mlx-eager", "case": "mlp", "error": "..."}
    {"skip": "why nothing ran"}
    {"peer": "mlx-eager", "case": "mlp", "census": {"Matmul": 6, ...}}   (with --census)

`times` holds one wall-clock duration per timed step (warm-up steps excluded); `value` is the
scalar read back on the last step (the loss, or the first element of the result).
"""

import argparse
import json
import sys
import time
import traceback


def parse_args(description):
    """--device cpu|gpu, --steps N, --warmup N, --cases JSON (a list of case objects)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--device", choices=["cpu", "gpu"], required=True)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--cases", required=True, help="JSON list of case objects")
    parser.add_argument(
        "--census",
        action="store_true",
        help="instead of timing, count the primitives of one training step's pending graph",
    )
    args = parser.parse_args()
    args.cases = json.loads(args.cases)
    return args


def emit(obj):
    """Prints one result line and flushes it, so the driver sees progress as it happens."""
    print(json.dumps(obj), flush=True)


def time_steps(step, warmup, steps):
    """Runs `step` (which must force its work and return a Python float) `warmup` times
    untimed, then `steps` times timed. Returns (durations in seconds, last value)."""
    value = None
    for _ in range(warmup):
        value = step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        value = step()
        times.append(time.perf_counter() - start)
    return times, value


def chain(ops):
    """`ops` chained `x + 1.0`, for MLX and PyTorch arrays alike."""

    def f(x):
        for _ in range(ops):
            x = x + 1.0
        return x

    return f


def run_all(args, peers, build):
    """For every case and every peer name in `peers`, calls `build(case, peer)`, which returns a
    step function, times it and prints the result; a failure becomes an `error` line instead of
    ending the run."""
    for case in args.cases:
        for peer in peers:
            try:
                step = build(case, peer)
                times, value = time_steps(step, args.warmup, args.steps)
                if hasattr(step, "report"):
                    step.report(args.warmup)
                emit({"peer": peer, "case": case["id"], "times": times, "value": float(value)})
            except Exception as e:  # one unsupported case must not hide the others
                traceback.print_exc(file=sys.stderr)
                emit({"peer": peer, "case": case["id"], "error": f"{type(e).__name__}: {e}"})
