"""Config.validate's checks: each setting that cannot work is refused with one line naming it and the fix."""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

from a3c_ray.backends.protocol import AGGREGATE_FROM_WORKERS, uses_node_aggregators
from a3c_ray.errors import ConfigError

if TYPE_CHECKING:
    from a3c_ray.config import Config

BACKENDS = ("ray", "mp", "serial", "virtual")
OPTIMIZERS = ("adam", "rmsprop")
ACTIVATIONS = ("tanh", "relu", "elu", "gelu", "silu", "leaky_relu")
LR_SCHEDULES = ("constant", "linear")
LR_PER_UPDATE = ("constant", "lag", "sqrt-batch")
GRAD_DTYPES = ("float32", "bfloat16")


def check_config(config: Config) -> None:
    """Raise ConfigError on the first value that cannot work."""
    _check_kinds(config)
    positive_ints = ("workers", "envs_per_worker", "rollout_length", "tasks_per_worker", "lstm_size")
    for name in positive_ints:
        value = getattr(config, name)
        if not isinstance(value, int) or value < 1:
            raise ConfigError(f"--{_flag(name)} must be a positive integer, got {value!r}")
    if not config.lr > 0:
        raise ConfigError(f"--lr must be > 0, got {config.lr!r}")
    if not config.optimizer_eps > 0:
        raise ConfigError(f"--optimizer-eps must be > 0, got {config.optimizer_eps!r}")
    for name in ("gamma", "gae_lambda"):
        value = getattr(config, name)
        if not 0 < value <= 1:
            raise ConfigError(f"--{_flag(name)} must be in (0, 1], got {value!r}")
    for name in ("entropy_coef", "value_coef", "max_grad_norm"):
        value = getattr(config, name)
        if not value >= 0:
            raise ConfigError(f"--{_flag(name)} must be >= 0, got {value!r}")
    if config.backend not in BACKENDS:
        raise ConfigError(f"--backend must be one of {', '.join(BACKENDS)}, got {config.backend!r}")
    if config.optimizer not in OPTIMIZERS:
        raise ConfigError(f"--optimizer must be one of {', '.join(OPTIMIZERS)}, got {config.optimizer!r}")
    if config.grad_dtype not in GRAD_DTYPES:
        raise ConfigError(f"--grad-dtype must be one of {', '.join(GRAD_DTYPES)}, got {config.grad_dtype!r}")
    if config.grad_dtype != "float32" and config.backend != "ray":
        raise ConfigError(f"--grad-dtype {config.grad_dtype} only applies to --backend ray (mp and serial hand "
                          "gradients over in memory); drop it or use --backend ray")
    if config.lr_schedule not in LR_SCHEDULES:
        raise ConfigError(f"--lr-schedule must be one of {', '.join(LR_SCHEDULES)}, got {config.lr_schedule!r}")
    if config.lr_per_update not in LR_PER_UPDATE:
        raise ConfigError(f"--lr-per-update must be one of {', '.join(LR_PER_UPDATE)}, got {config.lr_per_update!r}")
    if config.lr_per_update != "constant" and config.backend == "mp":
        raise ConfigError("--lr-per-update applies to updates the driver makes; mp's workers step the shared model "
                          "themselves (Hogwild): drop it or use --backend ray")
    if config.lr_schedule == "linear" and config.stop_steps is None:
        raise ConfigError("--lr-schedule linear decays to 0 at --stop-steps; give --stop-steps")
    if config.activation not in ACTIVATIONS:
        raise ConfigError(f"--activation must be one of {', '.join(ACTIVATIONS)}, got {config.activation!r}")
    for name in ("hidden_sizes", "actor_sizes", "critic_sizes"):
        sizes = getattr(config, name)
        if (sizes is not None or name == "hidden_sizes") and (
                not sizes or any(not isinstance(h, int) or h < 1 for h in sizes)):
            raise ConfigError(f"--{_flag(name)} must be positive integers like 64,64, got {sizes!r}")
    if config.encoder is not None and (":" not in config.encoder or config.encoder.startswith(":")):
        raise ConfigError(f"--encoder must name a class as 'module:Class', got {config.encoder!r}")
    if config.virtual is not None:
        if config.backend != "virtual":
            raise ConfigError("--virtual describes the simulated cluster of --backend virtual; drop it or add "
                              "--backend virtual")
        from a3c_ray.backends.virtual_model import ClusterModel

        if not isinstance(config.virtual, dict):
            raise ConfigError(f"--virtual must be a JSON object like '{{\"task_ms\": 12}}', got {config.virtual!r}")
        ClusterModel.of(config.virtual)  # unknown keys and bad values, one line each
    if config.env_kwargs is not None and not isinstance(config.env_kwargs, dict):
        raise ConfigError(f"--env-kwargs must be a JSON object like '{{\"is_slippery\": false}}', got "
                          f"{config.env_kwargs!r}")
    if config.stop_steps is not None and config.stop_steps < 1:
        raise ConfigError(f"--stop-steps must be a positive integer, got {config.stop_steps!r}")
    if config.stop_seconds is not None and not config.stop_seconds > 0:
        raise ConfigError(f"--stop-seconds must be > 0, got {config.stop_seconds!r}")
    if config.stop_return is not None and not math.isfinite(config.stop_return):
        raise ConfigError(f"--stop-return must be a finite number, got {config.stop_return!r}")
    if config.stop_return is None and config.stop_steps is None and config.stop_seconds is None:
        raise ConfigError("no stop criterion: give --stop-return, --stop-steps or --stop-seconds")
    if not isinstance(config.eval_interval_steps, int) or config.eval_interval_steps < 0:
        raise ConfigError(f"--eval-interval-steps must be an integer >= 0 (0: no evaluation), got "
                          f"{config.eval_interval_steps!r}")
    if not isinstance(config.eval_episodes, int) or config.eval_episodes < 1:
        raise ConfigError(f"--eval-episodes must be a positive integer, got {config.eval_episodes!r}")
    if not isinstance(config.keep_checkpoints, int) or config.keep_checkpoints < 0:
        raise ConfigError(f"--keep-checkpoints must be an integer >= 0, got {config.keep_checkpoints!r}")
    if config.max_policy_lag is not None and config.max_policy_lag < 0:
        raise ConfigError(f"--max-policy-lag must be >= 0, got {config.max_policy_lag!r}")
    if config.sync and (config.backend == "mp" or config.node_aggregators):
        raise ConfigError("--sync waits for every worker's gradient on the same weights: mp's workers step the "
                          "shared model themselves (Hogwild), and node aggregators forward whatever has arrived; "
                          "use --backend ray or virtual (without --node-aggregators), or serial")
    aggregating = config.node_aggregators or (config.backend in ("ray", "virtual") and uses_node_aggregators(config))
    if config.batch_gradients is False and aggregating:  # by the worker count only where aggregators exist
        given = "--node-aggregators" if config.node_aggregators else \
            f"--workers {config.workers} (node aggregators from {AGGREGATE_FROM_WORKERS} workers)"
        raise ConfigError(f"--no-batch-gradients cannot hold with {given}: an aggregator forwards sums of "
                          "gradients; drop --no-batch-gradients or add --no-node-aggregators")
    for name in ("report_interval_s", "checkpoint_interval_s", "worker_timeout_s"):
        if not getattr(config, name) > 0:
            raise ConfigError(f"--{_flag(name)} must be > 0, got {getattr(config, name)!r}")


def _check_kinds(config: Config) -> None:
    """A number where a number goes and true/false where a switch goes, from the Python API or a JSON value alike:
    True given as a learning rate would otherwise train at 1.0, and a text fail deep in a comparison. The kinds
    are the fields' own annotations, so a new setting is checked without being listed here."""
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if value is None and field.type.endswith("| None"):
            continue
        if field.type in ("float", "float | None") and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ConfigError(f"--{_flag(field.name)} must be a number, got {value!r}")
        if field.type in ("bool", "bool | None") and not isinstance(value, bool):
            raise ConfigError(f"--{_flag(field.name)} takes true or false, got {value!r}")


def _flag(name: str) -> str:
    return name.replace("_", "-")
