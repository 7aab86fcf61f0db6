"""Running observation and return statistics, merged across workers like gradients are.

Each worker normalises with the global statistics it last received, and sends back the raw moments of what it
saw since; the learner merges them (Chan et al.'s parallel variance), so the statistics travel with the weights.
"""

from __future__ import annotations

import numpy as np

EPS = 1e-8
OBS_CLIP = 10.0
REWARD_CLIP = 10.0


class RunningMeanStd:
    """Count, mean and variance of a stream, mergeable with another's."""

    def __init__(self, shape: tuple[int, ...] = ()):
        self.mean = np.zeros(shape, dtype=np.float64)
        self.var = np.ones(shape, dtype=np.float64)
        self.count = 0.0

    def update(self, batch: np.ndarray) -> None:
        batch = np.asarray(batch, dtype=np.float64)
        if len(batch):
            self.merge(batch.mean(axis=0), batch.var(axis=0), float(len(batch)))

    def merge(self, mean: np.ndarray, var: np.ndarray, count: float) -> None:
        if count <= 0:
            return
        total = self.count + count
        delta = mean - self.mean
        m2 = self.var * self.count + var * count + delta**2 * self.count * count / total
        self.mean = self.mean + delta * count / total
        self.var = m2 / total
        self.count = total

    def state(self) -> dict[str, np.ndarray]:
        return {"mean": self.mean.copy(), "var": self.var.copy(), "count": np.array(self.count)}

    def load(self, state: dict[str, np.ndarray]) -> None:
        self.mean = np.array(state["mean"], dtype=np.float64)
        self.var = np.array(state["var"], dtype=np.float64)
        self.count = float(state["count"])


def moments_state(obs: RunningMeanStd, ret: RunningMeanStd) -> dict[str, np.ndarray]:
    """One flat dict (obs_mean, ..., ret_count): the layout of a Normalizer's state and of a worker's delta."""
    return {**{f"obs_{k}": v for k, v in obs.state().items()}, **{f"ret_{k}": v for k, v in ret.state().items()}}


class Normalizer:
    """Observation normalisation and reward scaling (SB3 VecNormalize's rule), either of them optional."""

    def __init__(self, obs_dim: int, normalize_obs: bool, normalize_reward: bool, gamma: float,
                 mask: np.ndarray | None = None):
        self.normalize_obs = normalize_obs
        self.mask = mask  # entries to standardise (None: all); image leaves of a Dict observation are left as they are
        self.normalize_reward = normalize_reward
        self.gamma = gamma
        self.obs_rms = RunningMeanStd((obs_dim,))
        self.ret_rms = RunningMeanStd(())

    def obs(self, obs: np.ndarray) -> np.ndarray:
        """Standardised and clipped float32 (when on); else as given, as float32 unless an image's uint8 or bool."""
        if not self.normalize_obs:
            return obs if obs.dtype in (np.uint8, np.bool_, np.float32) else obs.astype(np.float32)
        scaled = np.clip((obs - self.obs_rms.mean) / np.sqrt(self.obs_rms.var + EPS), -OBS_CLIP, OBS_CLIP)
        if self.mask is not None:
            scaled = np.where(self.mask, scaled, obs)
        return scaled.astype(np.float32)

    def reward(self, rewards: np.ndarray) -> np.ndarray:
        if not self.normalize_reward:
            return rewards
        return np.clip(rewards / np.sqrt(self.ret_rms.var + EPS), -REWARD_CLIP, REWARD_CLIP).astype(np.float32)

    def state(self) -> dict[str, np.ndarray]:
        return moments_state(self.obs_rms, self.ret_rms)

    def load(self, state: dict[str, np.ndarray]) -> None:
        self.obs_rms.load({k[4:]: v for k, v in state.items() if k.startswith("obs_")})
        self.ret_rms.load({k[4:]: v for k, v in state.items() if k.startswith("ret_")})

    def merge(self, delta: dict[str, np.ndarray]) -> None:
        """Fold in a worker's moments (same layout as state())."""
        self.obs_rms.merge(delta["obs_mean"], delta["obs_var"], float(delta["obs_count"]))
        self.ret_rms.merge(delta["ret_mean"], delta["ret_var"], float(delta["ret_count"]))


def normalizer_for(config, observation_space) -> Normalizer:
    """Running statistics for vector observations (and the vector leaves of a Dict/Tuple); images are only scaled
    (by the CNN), never standardised."""
    from a3c_ray.envs.spaces import observation_layout  # gymnasium: not for an aggregator, which imports this module

    layout = observation_layout(observation_space, config.env)
    dim = 1 if layout.image else int(np.prod(layout.shape))
    return Normalizer(dim, config.normalize_obs and not layout.image, config.normalize_reward, config.gamma,
                      layout.normalize_mask())
