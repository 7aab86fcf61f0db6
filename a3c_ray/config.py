"""One validated dataclass holds every setting of a run; presets fill it per env id."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from a3c_ray.config_checks import ACTIVATIONS, check_config
from a3c_ray.errors import ConfigError
from a3c_ray.presets import load_preset

GENERIC_STOP_STEPS = 2_000_000


def _doc(text: str, **kwargs: Any) -> Any:
    return field(metadata={"help": text}, **kwargs)


@dataclass
class Config:
    """Everything a run needs. Field docs double as CLI help."""

    env: str = _doc("gymnasium env id, or 'module:Env-v0' to import your own registration", default="CartPole-v1")
    env_kwargs: dict[str, Any] | None = _doc("keyword arguments for gymnasium.make, as JSON on the command line "
                                             "(e.g. '{\"is_slippery\": false}')", default=None)
    backend: str = _doc("execution backend: ray, mp (torch.multiprocessing Hogwild), serial, or virtual (--workers "
                         "simulated in one process on a simulated clock: learning at scale on a small machine)",
                         default="ray")
    workers: int = _doc("rollout workers (one CPU each)", default=2)
    envs_per_worker: int = _doc("envs each worker steps together with one batched forward", default=8)
    native_vector_env: bool = _doc("step the envs with a batched numpy version when the env has one (CartPole's "
                                   "in gymnasium, Pendulum-v1's in a3c_ray)", default=True)
    rollout_length: int = _doc("steps per env in one gradient (n of n-step returns)", default=16)
    gamma: float = _doc("discount factor, in (0, 1]", default=0.995)
    gae_lambda: float = _doc("GAE lambda in (0, 1]; 1.0 gives plain n-step returns", default=0.95)
    lr: float = _doc("learning rate of the global optimizer", default=7e-4)
    optimizer: str = _doc("adam or rmsprop", default="adam")
    optimizer_eps: float = _doc("epsilon added to the optimizer's denominator; it must stay well below the "
                                "gradients' size, or it damps the layers with the smallest ones", default=1e-5)
    entropy_coef: float = _doc("weight of the entropy bonus", default=0.01)
    value_coef: float = _doc("weight of the value loss", default=0.5)
    max_grad_norm: float = _doc("clip each gradient to this global norm (0 disables)", default=0.5)
    hidden_sizes: tuple[int, ...] = _doc("hidden layer widths of the actor and the critic", default=(64, 64))
    actor_sizes: tuple[int, ...] | None = _doc("the actor's hidden widths, where they differ from --hidden-sizes "
                                               "(with a shared trunk: --lstm, images, --encoder: layers of the "
                                               "actor's head)", default=None)
    critic_sizes: tuple[int, ...] | None = _doc("the critic's, likewise", default=None)
    activation: str = _doc(f"{', '.join(ACTIVATIONS)}", default="tanh")
    encoder: str | None = _doc("your own torch encoder, 'module:Class': built as Class(observation_space), it maps "
                               "the observation as the core carries it (float32 [B, n] in gymnasium's flatten "
                               "layout, or an image as the env gives it) to features [B, F]; the LSTM (--lstm) "
                               "and the heads follow it", default=None)
    ortho_init: bool = _doc("orthogonal init of the linear and conv layers (gain sqrt 2, 0.01 for the actor's "
                            "output, zero biases); --no-ortho-init: PyTorch's default, as RL-Zoo's gSDE settings",
                            default=True)
    lstm: bool = _doc("an LSTM core between the encoder and the actor and critic heads (A3C-LSTM), for partially "
                      "observed tasks", default=False)
    lstm_size: int = _doc("LSTM hidden size (with --lstm)", default=128)
    log_std_init: float = _doc("initial log std of the Gaussian policy (Box actions)", default=0.0)
    squash_actions: bool = _doc("Box actions: squash the Gaussian sample into the bounds with tanh instead of "
                                "clipping it", default=False)
    gsde: bool = _doc("Box actions: generalized state-dependent exploration (Raffin et al. 2021; SB3's use_sde): "
                      "the noise is a linear map of the actor's last hidden features, drawn once per rollout, so "
                      "its size depends on the state and it is smooth in time; --log-std-init sets the log std of "
                      "that map's weights", default=False)
    lr_schedule: str = _doc("constant, or linear: the learning rate falls to 0 at --stop-steps", default="constant")
    lr_per_update: str = _doc("each update's learning rate: constant; lag, divided by the mean policy lag of its "
                              "gradients (at least 1; Zhang et al. 2016); or sqrt-batch, times the square root of "
                              "their count", default="constant")
    normalize_obs: bool = _doc("running mean/std observation normalisation", default=True)
    normalize_reward: bool = _doc("scale rewards by the running std of the discounted return", default=True)
    normalize_advantage: bool = _doc("standardise advantages within each gradient batch", default=False)
    seed: int = _doc("random seed of the run; worker i uses seed + 1000 * i", default=0)
    stop_return: float | None = _doc("the run is solved (and stops) when the greedy evaluation's mean return reaches "
                                     "this (with --no-stop-on-eval: the 100-episode training mean)", default=None)
    eval_interval_steps: int = _doc("evaluate the greedy policy every this many env steps, in a process of its own, "
                                    "and keep the best weights in best_checkpoint.pt; 0 turns it off", default=25_000)
    eval_episodes: int = _doc("episodes in each greedy evaluation", default=10)
    eval_blocking: bool = _doc("training waits for each evaluation (as SB3's EvalCallback): every one lands on the "
                               "--eval-interval-steps grid, so env steps to solve are reproducible (always so with "
                               "--backend virtual)", default=False)
    stop_on_eval: bool = _doc("judge --stop-return on the greedy evaluation (so a solved run leaves a policy that "
                              "works); --no-stop-on-eval: on the training episodes", default=True)
    stop_steps: int | None = _doc("stop after this many env steps", default=None)
    stop_seconds: float | None = _doc("stop after this many seconds of training", default=None)
    out: str | None = _doc("run directory (default: runs/<env>-<backend>-s<seed>-<time>)", default=None)
    overwrite: bool = _doc("replace the run already in --out", default=False)
    address: str | None = _doc("Ray cluster address; default starts Ray locally (RAY_ADDRESS also works)", default=None)
    max_policy_lag: int | None = _doc("drop gradients computed with weights more than this many versions old",
                                      default=None)
    wait_for_workers: bool = _doc("Ray: training starts once every worker is up (default: with the first, the "
                                  "others joining as they come up)", default=False)
    tasks_per_worker: int = _doc("Ray: rollout tasks queued at each worker; 2 hides the driver round trip "
                                 "(one more version of policy lag)", default=1)
    batch_gradients: bool | None = _doc("Ray: apply every gradient that has arrived as one optimizer step (their "
                                        "mean); --no-batch-gradients: one step per gradient, as in the A3C paper "
                                        "(default: batched only with node aggregators)", default=None)
    sync: bool = _doc("synchronous A2C: each update waits for one gradient from every worker, all computed with the "
                      "same weights, and applies their mean (Ray and serial; mp is Hogwild)", default=False)
    node_aggregators: bool | None = _doc("Ray: one actor per node adds up its workers' gradients and forwards the "
                                         "sum (default: on from 64 workers)", default=None)
    virtual: dict[str, Any] | None = _doc("--backend virtual: the simulated cluster, as JSON over the measured "
                                          "defaults (task_ms, task_cv, latency_ms, node_size, ...; docs/scaling.md)",
                                          default=None)
    ray_metrics: bool = _doc("Ray started locally: run Ray's metrics exporter and dashboard (on 127.0.0.1); off by "
                             "default. A cluster given by --address keeps its own settings", default=False)
    grad_dtype: str = _doc("float32, or bfloat16: gradients sent as bfloat16 (half the bytes; ~3 significant "
                           "digits), summed and applied in float32", default="float32")
    worker_timeout_s: float = _doc("replace a Ray worker that has returned nothing for this many seconds",
                                   default=120.0)
    report_interval_s: float = _doc("seconds between progress rows", default=1.0)
    checkpoint_interval_s: float = _doc("seconds between periodic checkpoints", default=30.0)
    keep_checkpoints: int = _doc("periodic checkpoints kept in <run>/checkpoints besides the latest "
                                 "checkpoint.pt (0: only the latest)", default=3)
    progress_bar: bool = _doc("show a live progress line", default=True)
    tensorboard: bool = _doc("write the progress table's scalars as TensorBoard events to <run>/tb (needs the "
                             "tensorboard extra)", default=False)

    def validate(self) -> "Config":
        """Raise ConfigError on the first value that cannot work; return self for chaining."""
        check_config(self)
        return self

    @property
    def evaluations_block(self) -> bool:
        """Whether training waits for each evaluation: --eval-blocking, or always on the virtual backend (its clock
        is simulated, so an evaluation must not run beside it)."""
        return self.eval_blocking or self.backend == "virtual"

    @property
    def solved_by_eval(self) -> bool:
        """Whether --stop-return is judged on the greedy evaluation (else on the training episodes)."""
        return self.stop_on_eval and self.eval_interval_steps > 0

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Config":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown config keys {unknown}; known keys are the fields of a3c_ray.Config")
        values = dict(data)
        for name in ("hidden_sizes", "actor_sizes", "critic_sizes"):
            if values.get(name) is not None:
                values[name] = tuple(values[name])
        return cls(**values)

    @classmethod
    def from_json(cls, text: str) -> "Config":
        return cls.from_dict(json.loads(text))


def make_config(env: str | Callable, stop_at_threshold: bool = True, **overrides: Any) -> Config:
    """Config for `env`: generic defaults, then the env's preset, then `overrides` (None means not given).

    `env` is a gymnasium id ('module:Env-v0' imports your registration), or a creator: a module-level function
    that returns an env, or a functools.partial of one with keyword arguments (see a3c_ray.envs.creators).

    Unless a stop return is given (or stop_at_threshold is False), stop at the env's reward_threshold when it has
    one; with neither steps nor seconds given, cap the run at the preset's step budget, so that a run always ends.
    """
    given = {k: v for k, v in overrides.items() if v is not None}
    if callable(env):
        from a3c_ray.envs.creators import creator_reference

        env, bound = creator_reference(env)
        if bound:
            given["env_kwargs"] = {**bound, **given.get("env_kwargs", {})}
    if not isinstance(env, str):
        raise ConfigError(f"env must be a gymnasium id or a function that returns an env, got {env!r}")
    from a3c_ray.envs.suites import reward_threshold  # gymnasium: only now (the CLI's --help stays light)

    preset = load_preset(env)
    default_stop_steps = preset.pop("default_stop_steps", GENERIC_STOP_STEPS)
    values: dict[str, Any] = {**preset, **given, "env": env}
    if not stop_at_threshold:
        values.pop("stop_return", None)
    elif "stop_return" not in given:
        values.setdefault("stop_return", reward_threshold(env))
    if "stop_steps" not in given and "stop_seconds" not in given:
        values["stop_steps"] = default_stop_steps
    return Config.from_dict(values)
