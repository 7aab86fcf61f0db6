"""Learning-curve figures: 100-episode moving mean of the return against env steps."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from a3c_ray.plumbing.atomic import atomic_write  # noqa: E402


def plot_learning_curves(curves: dict[str, pd.DataFrame], out: str | os.PathLike, title: str = "",
                         evals: dict[str, pd.DataFrame] | None = None) -> None:
    """One line per run from its `episodes` table, and its greedy evaluations (mean ± std, at the env steps their
    weights were taken) when given; written atomically as PNG."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, episodes in curves.items():
        if len(episodes):
            smooth = episodes["return"].rolling(100, min_periods=1).mean()
            line = ax.plot(episodes["env_steps"], smooth, label=f"{label} (training, 100-episode mean)"
                           if evals else label)[0]
            ev = (evals or {}).get(label)
            if ev is not None and len(ev):
                ax.errorbar(ev["env_steps"], ev["return_mean"], yerr=ev["return_std"], fmt="o", ms=3, capsize=2,
                            color=line.get_color(), alpha=0.8, label=f"{label} (greedy evaluation)")
    ax.set_xlabel("env steps")
    ax.set_ylabel("episode return (100-episode mean)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if len(curves) > 1 or evals:
        ax.legend(fontsize=8)
    fig.tight_layout()
    atomic_write(out, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    plt.close(fig)
