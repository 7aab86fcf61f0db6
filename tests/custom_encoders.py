"""Encoders a user might bring (--encoder custom_encoders:Name)."""

import numpy as np
import torch
from gymnasium import spaces
from torch import nn


class Bilinear(nn.Module):
    """A flat observation through one bilinear layer: nothing a3c_ray builds itself."""

    def __init__(self, observation_space):
        super().__init__()
        size = spaces.flatdim(observation_space)
        self.layer = nn.Bilinear(size, size, 32)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.layer(obs, obs))


class TinyConv(nn.Module):
    """A lone image (as the env gives it, HWC uint8) through one convolution."""

    def __init__(self, observation_space):
        super().__init__()
        channels = observation_space.shape[-1]
        self.conv = nn.Conv2d(channels, 8, 3)
        side = observation_space.shape[0] - 2
        self.features = 8 * side * side

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        x = obs.float().permute(0, 3, 1, 2) / 255.0
        return torch.relu(self.conv(x)).flatten(1)


class NotAModule:
    def __init__(self, observation_space):
        pass


class WrongShape(nn.Module):
    def __init__(self, observation_space):
        super().__init__()

    def forward(self, obs):
        return torch.zeros(2, 3, 4)


IMAGE = spaces.Box(0, 255, (8, 8, 1), np.uint8)
