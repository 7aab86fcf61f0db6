"""A3C for PyTorch, on Ray actors or torch.multiprocessing.

The public names load on first use, so `a3c-ray --help`, the result loaders and Ray's helper actors (node
aggregators) start without importing torch.
"""

from importlib import import_module
from typing import Any

from a3c_ray.envs.registration import register_when_gymnasium_loads

register_when_gymnasium_loads()  # a3c_ray/CartPoleNoVel-v1

_PUBLIC = {"Config": "a3c_ray.config", "make_config": "a3c_ray.config", "train": "a3c_ray.run.trainer",
           "evaluate": "a3c_ray.run.evaluation", "load_run": "a3c_ray.run.results", "load_runs": "a3c_ray.run.results",
           "RunResult": "a3c_ray.run.results", "load_policy": "a3c_ray.run.policy", "Policy": "a3c_ray.run.policy"}
__all__ = list(_PUBLIC)
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        value = getattr(import_module(_PUBLIC[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'a3c_ray' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
