"""A3C for PyTorch, on Ray actors or torch.multiprocessing."""

from a3c_ray.config import Config, make_config
from a3c_ray.evaluate import evaluate
from a3c_ray.results import RunResult, load_run, load_runs
from a3c_ray.trainer import train

__all__ = ["Config", "make_config", "train", "evaluate", "load_run", "load_runs", "RunResult"]
__version__ = "0.1.0"
