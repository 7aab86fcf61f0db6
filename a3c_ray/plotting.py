"""Learning-curve figures: 100-episode moving mean of the return against env steps."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from a3c_ray.atomic import atomic_write  # noqa: E402


def plot_learning_curves(curves: dict[str, pd.DataFrame], out: str | os.PathLike, title: str = "") -> None:
    """One line per run from its `episodes` table; written atomically as PNG."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, episodes in curves.items():
        if len(episodes):
            smooth = episodes["return"].rolling(100, min_periods=1).mean()
            ax.plot(episodes["env_steps"], smooth, label=label)
    ax.set_xlabel("env steps")
    ax.set_ylabel("episode return (100-episode mean)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if len(curves) > 1:
        ax.legend(fontsize=8)
    fig.tight_layout()
    atomic_write(out, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    plt.close(fig)
