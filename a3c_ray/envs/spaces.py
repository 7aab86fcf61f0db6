"""Spaces as the core sees them: each observation one array, each action one row of numbers.

Observations. A Box of rank 3 with dtype uint8 or bool whose two spatial sides are at least MIN_IMAGE_SIDE is an
image (SB3's rule, by dtype): it stays as the env gives it, compact, for the CNN (HWC or CHW; see
a3c_ray.core.encoders). Every other space is flattened to float32 by gymnasium's own `spaces.flatten`: a Box of
any rank (a float (5, 6, 7) tensor too, and an image smaller than the CNN's kernel), Discrete as a one-hot,
MultiDiscrete as one-hots side by side, MultiBinary as 0/1, Dict and Tuple as their leaves concatenated in
gymnasium's order. Images inside a Dict or Tuple are flattened with the rest; `ObsLayout.images` says where each
lies, so the model gives each its CNN and feeds the other entries to an MLP, and observation normalisation leaves
them alone.

Actions. Discrete with any start, MultiDiscrete (any start and shape), MultiBinary and Box of any shape arrive from
the policy as one row per env (an index, indices, bits, or a flat Gaussian sample) and are mapped to what
env.step takes on the way in, as Box actions are clipped there. Dict and Tuple actions are refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np

from a3c_ray.envs.actions import box_action
from a3c_ray.errors import EnvError

MIN_IMAGE_SIDE = 3  # the smallest CNN's kernel (a3c_ray.core.encoders): below it an image is flattened
LEAVES = (gym.spaces.Box, gym.spaces.Discrete, gym.spaces.MultiDiscrete, gym.spaces.MultiBinary)
SUPPORTED_OBS = "Box (any rank), Discrete, MultiDiscrete, MultiBinary, and Dict/Tuple of them"
SUPPORTED_ACTIONS = "Discrete, MultiDiscrete, MultiBinary or Box (any shape); Dict/Tuple actions are not supported"


def channels_last(shape: tuple[int, ...]) -> bool:
    """HWC when the last axis is the smaller end (84x84x3, MinAtar's 10x10x4), else CHW (4x84x84)."""
    return shape[-1] < shape[0]


def is_image(space: gym.Space) -> bool:
    if not isinstance(space, gym.spaces.Box) or len(space.shape) != 3:
        return False
    if np.dtype(space.dtype) not in (np.uint8, np.bool_):
        return False
    sides = space.shape[:2] if channels_last(space.shape) else space.shape[1:]
    return min(sides) >= MIN_IMAGE_SIDE


@dataclass(frozen=True)
class ImageLeaf:
    """An image inside a Dict/Tuple observation: entries [offset, offset + size) of the flat vector."""

    offset: int
    shape: tuple[int, ...]
    uint8: bool

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))


@dataclass
class ObsLayout:
    """How one observation of `space` becomes one array, and what the model and the normaliser need to know."""

    space: gym.Space
    shape: tuple[int, ...] = ()
    image: bool = False  # the whole observation is one image, kept compact
    images: list[ImageLeaf] = field(default_factory=list)  # images inside a flattened Dict/Tuple
    plain: bool = False  # a 1-D float Box or a lone image: the array is the observation itself

    def encode(self, obs) -> np.ndarray:
        """One observation as the core's array."""
        if self.plain or self.image:
            return _compact(np.asarray(obs))
        return np.asarray(gym.spaces.flatten(self.space, obs), dtype=np.float32).reshape(self.shape)

    def encode_batch(self, observations) -> np.ndarray:
        """A list of observations (or a vector env's batch of a plain space) as one [n, ...] array."""
        if self.plain or self.image:
            stacked = np.stack([np.asarray(o) for o in observations]) if isinstance(observations, list) else \
                np.asarray(observations)
            return _compact(stacked)
        return np.stack([self.encode(o) for o in observations])

    def normalize_mask(self) -> np.ndarray | None:
        """The flat entries observation normalisation may standardise: all but image leaves (None: all)."""
        if not self.images:
            return None
        mask = np.ones(self.shape, dtype=bool)
        for leaf in self.images:
            mask[leaf.offset:leaf.offset + leaf.size] = False
        return mask


def _compact(array: np.ndarray) -> np.ndarray:
    """Images keep their compact dtype (uint8, bool); everything else becomes float32."""
    return array if array.dtype in (np.uint8, np.bool_) else array.astype(np.float32)


def observation_layout(space: gym.Space, env_id: str = "") -> ObsLayout:
    """The layout of `space`, or an EnvError naming the space and what is supported."""
    _check_observation(space, env_id)
    if is_image(space):
        return ObsLayout(space, tuple(space.shape), image=True, plain=True)
    if isinstance(space, gym.spaces.Box) and len(space.shape) == 1:
        return ObsLayout(space, tuple(space.shape), plain=True)
    images: list[ImageLeaf] = []
    offset = 0
    for leaf in leaves(space):
        if is_image(leaf) and isinstance(space, (gym.spaces.Dict, gym.spaces.Tuple)):
            images.append(ImageLeaf(offset, tuple(leaf.shape), np.dtype(leaf.dtype) == np.uint8))
        offset += int(gym.spaces.flatdim(leaf))
    return ObsLayout(space, (offset,), images=images)


def leaves(space: gym.Space):
    """The leaf spaces of a nested Dict/Tuple, in the order gymnasium's `spaces.flatten` lays them out."""
    if isinstance(space, gym.spaces.Dict):
        for sub in space.spaces.values():
            yield from leaves(sub)
    elif isinstance(space, gym.spaces.Tuple):
        for sub in space.spaces:
            yield from leaves(sub)
    else:
        yield space


def _check_observation(space: gym.Space, env_id: str) -> None:
    bad = [leaf for leaf in leaves(space) if not isinstance(leaf, LEAVES)]
    if bad or (isinstance(space, (gym.spaces.Dict, gym.spaces.Tuple)) and not list(leaves(space))):
        raise EnvError(f"env {env_id!r}: observation space {space} is not supported "
                       f"({type(bad[0]).__name__ if bad else 'empty'}); supported: {SUPPORTED_OBS}")


class ActionCodec:
    """A policy's action rows [n, ...] as env.step takes them: a start added, a shape restored, a Box clipped (or
    squashed) into its bounds. The loss always sees the rows as sampled."""

    def __init__(self, space: gym.Space, squash: bool = False, env_id: str = ""):
        if not isinstance(space, (gym.spaces.Discrete, gym.spaces.MultiDiscrete, gym.spaces.MultiBinary,
                                  gym.spaces.Box)):
            raise EnvError(f"env {env_id!r}: action space {space} is not supported; supported: {SUPPORTED_ACTIONS}")
        self.space, self.squash = space, squash
        if isinstance(space, gym.spaces.Box):
            self.low = space.low.reshape(-1).astype(np.float32)
            self.high = space.high.reshape(-1).astype(np.float32)

    def to_env(self, actions: np.ndarray) -> list:
        """One env action per row."""
        space = self.space
        if isinstance(space, gym.spaces.Discrete):
            return (actions.astype(np.int64) + int(space.start)).tolist()
        n = len(actions)
        if isinstance(space, gym.spaces.MultiDiscrete):
            rows = actions.reshape(n, *space.shape).astype(space.dtype) + space.start
        elif isinstance(space, gym.spaces.MultiBinary):
            rows = actions.reshape(n, *space.shape).astype(space.dtype)
        else:
            rows = box_action(actions, self.low, self.high, self.squash).reshape(n, *space.shape)
        return list(rows)

    def to_env_batch(self, actions: np.ndarray) -> np.ndarray:
        """The same, as one array (a vector env's step)."""
        if isinstance(self.space, gym.spaces.Discrete):
            return actions.astype(np.int64) + int(self.space.start)
        return np.stack(self.to_env(actions))
