"""Exported policies: agreement with predict(deterministic=True), file size and latency, TorchScript and ONNX.

    python experiments/export_bench.py            # CartPole, MinAtar Breakout, DictReach, CartPoleNoVel --lstm
    python experiments/export_bench.py --quick    # CartPole only

Each policy is trained briefly with CLI defaults (serial backend, seed 0; the point is the file, not the score),
exported both ways, and fed the same 1,000 sampled raw observations as predict(). Latency: one observation per
call (batch 1, the deployment case), median of 2,000 calls after 200 warm-up calls, one thread.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from a3c_ray.plumbing.atomic import atomic_write_text
from common import output_dir, parser, table, value

POLICIES = {  # name -> (env, overrides)
    "CartPole-v1": ("CartPole-v1", {"stop_steps": 200_000}),
    "MinAtar/Breakout-v1": ("MinAtar/Breakout-v1", {"stop_steps": 100_000}),
    "a3c_ray/DictReach-v0 (Dict obs)": ("a3c_ray/DictReach-v0", {"stop_steps": 200_000}),
    "a3c_ray/CartPoleNoVel-v1 --lstm": ("a3c_ray/CartPoleNoVel-v1", {"stop_steps": 100_000, "lstm": True}),
}


def measure(name: str, env: str, overrides: dict, out: Path) -> list[dict]:
    from a3c_ray import load_policy, make_config, train
    from a3c_ray.run.export import example_inputs, export_policy, run_exported, sample_observations

    result = train(make_config(env, backend="serial", workers=1, progress_bar=False, overwrite=True,
                               out=str(out / "runs" / name.split()[0].replace("/", "_")), **overrides))
    policy = load_policy(result.run_dir)
    batch, columns = sample_observations(policy, 1000, seed=1)
    expected, state = policy.predict(batch, deterministic=True)
    rows = []
    for fmt in ("torchscript", "onnx"):
        path = export_policy(policy, out / "runs" / f"{name.split()[0].replace('/', '_')}.{fmt}", fmt)
        got = run_exported(path, fmt, columns, state)[0]
        agree = np.isclose(got, expected, atol=1e-5) if expected.dtype.kind == "f" else got == expected
        agree = agree.reshape(len(expected), -1).all(axis=1)
        one, _ = example_inputs(policy, 1, seed=7)
        rows.append({"policy": name, "format": fmt, "agree": int(agree.sum()), "observations": len(agree),
                     "bytes": os.path.getsize(path), "us_per_call": latency(path, fmt, one, policy),
                     "greedy_return": float(result.summary["best_eval_return"] or float("nan"))})
    return rows


def latency(path: Path, fmt: str, columns: list[np.ndarray], policy, calls: int = 2000) -> float:
    """Median µs of one call with one observation (and the LSTM state)."""
    extra = [np.zeros((1, policy.model.core.hidden_size), np.float32)] * 2 if policy.recurrent else []
    if fmt == "torchscript":
        module = torch.jit.load(str(path))
        inputs = [torch.as_tensor(c) for c in [*columns, *extra]]
        call = lambda: module(*inputs)  # noqa: E731
    else:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(str(path), options)
        feed = dict(zip([i.name for i in session.get_inputs()], [*columns, *extra]))
        call = lambda: session.run(None, feed)  # noqa: E731
    times = []
    with torch.inference_mode():
        for k in range(calls + 200):
            start = time.perf_counter()
            call()
            if k >= 200:
                times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def main() -> None:
    torch.set_num_threads(1)
    args = parser(__doc__, "export").parse_args()
    out = output_dir(args, "export")
    names = ["CartPole-v1"] if args.quick else list(POLICIES)
    rows = [row for name in names for row in measure(name, *POLICIES[name], out)]
    frame = pd.DataFrame(rows)
    atomic_write_text(out / "export.csv", frame.to_csv(index=False))
    text = table(frame, ["policy", "format"], {
        "agree with predict": lambda g: f"{int(g['agree'].iloc[0]):,}/{int(g['observations'].iloc[0]):,}",
        "file bytes": value("bytes", ",.0f"), "µs per call (batch 1)": value("us_per_call", ".0f"),
        "best greedy eval during training": value("greedy_return", ".1f")}, each_row=True)
    atomic_write_text(out / "export.md", text)
    print(text)


if __name__ == "__main__":
    main()
