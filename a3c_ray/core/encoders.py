"""Encoders, chosen from the observation's layout (a3c_ray.envs.spaces): flat vectors get an MLP (the model's),
an image a small CNN, a Dict/Tuple holding images a CNN per image beside an MLP for the rest.

Images arrive as the env gives them, uint8 or float, HWC or CHW; the CNN scales uint8 to [0, 1] and moves the
channels first itself, so rollouts store observations as they are (uint8 stays uint8: 4x less to keep and send).
CNN by size: MinAtar's (conv16 3x3 + FC128) up to 16x16, ikostrikov's A3C stack (4 x conv32 3x3 stride 2) up to
42x42, the Nature-DQN stack from there (84x84 Atari).
"""

from __future__ import annotations

import importlib

import numpy as np
import torch
from torch import nn

from a3c_ray.envs.spaces import ObsLayout, channels_last
from a3c_ray.errors import ConfigError

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "elu": nn.ELU, "gelu": nn.GELU, "silu": nn.SiLU,
               "leaky_relu": nn.LeakyReLU}


def mlp(sizes: list[int], activation: type[nn.Module], out_gain: float = np.sqrt(2),
        last: type[nn.Module] | None = None, ortho: bool = True) -> nn.Sequential:
    """Linear layers with orthogonal init (ortho=False: PyTorch's default); `activation` between them, `last` (if
    any) after the last one."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        linear = nn.Linear(n_in, n_out)
        final = i == len(sizes) - 2
        if ortho:
            nn.init.orthogonal_(linear.weight, gain=out_gain if final else np.sqrt(2))
            nn.init.zeros_(linear.bias)
        layers.append(linear)
        if not final:
            layers.append(activation())
        elif last is not None:
            layers.append(last())
    return nn.Sequential(*layers)


def make_encoder(layout: ObsLayout, config) -> tuple[nn.Module | None, int]:
    """(None, obs size) for flat vectors, whose MLP the model builds; else the encoder and its feature size."""
    if config.encoder:
        return user_encoder(config.encoder, layout)
    if layout.image:
        encoder = ImageEncoder(layout.shape, np.dtype(layout.space.dtype) == np.uint8, config.ortho_init)
    elif layout.images:
        encoder = MultiInputEncoder(layout, config)
    else:
        return None, int(np.prod(layout.shape))
    return encoder, encoder.features


def user_encoder(spec: str, layout: ObsLayout) -> tuple[nn.Module, int]:
    """--encoder 'module:Class': Class(observation_space), its feature width found by one forward of zeros."""
    module_name, _, name = spec.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"--encoder {spec!r} cannot be imported ({type(exc).__name__}: {exc}); give 'module:Class' "
                          "of a module on PYTHONPATH") from None
    encoder = cls(layout.space)
    if not isinstance(encoder, nn.Module):
        raise ConfigError(f"--encoder {spec!r} built a {type(encoder).__name__}, not a torch.nn.Module")
    dtype = torch.from_numpy(np.zeros(0, dtype=layout.space.dtype)).dtype if layout.image else torch.float32
    with torch.no_grad():
        out = encoder(torch.zeros(2, *layout.shape, dtype=dtype))
    if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[0] != 2:
        raise ConfigError(f"--encoder {spec!r} must return features [batch, F]; for a batch of 2 it returned "
                          f"{tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__}")
    return encoder, int(out.shape[1])


class MultiInputEncoder(nn.Module):
    """A Dict/Tuple observation with images, flattened (a3c_ray.envs.spaces): each image leaf is cut out, reshaped
    and given its own CNN; the other entries go through an MLP of --hidden-sizes; the features are concatenated
    (SB3's CombinedExtractor)."""

    def __init__(self, layout: ObsLayout, config):
        super().__init__()
        act = ACTIVATIONS[config.activation]
        self.cuts = [(leaf.offset, leaf.size, leaf.shape) for leaf in layout.images]
        self.cnns = nn.ModuleList(ImageEncoder(leaf.shape, leaf.uint8, config.ortho_init) for leaf in layout.images)
        rest = np.flatnonzero(layout.normalize_mask())
        self.register_buffer("rest", torch.from_numpy(rest.astype(np.int64)), persistent=False)
        self.mlp = mlp([len(rest), *config.hidden_sizes], act, last=act, ortho=config.ortho_init) if len(rest) \
            else None
        self.features = sum(cnn.features for cnn in self.cnns) + (config.hidden_sizes[-1] if len(rest) else 0)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        parts = [cnn(obs[:, offset:offset + size].reshape(-1, *shape))
                 for cnn, (offset, size, shape) in zip(self.cnns, self.cuts)]
        if self.mlp is not None:
            parts.append(self.mlp(obs.index_select(1, self.rest)))
        return torch.cat(parts, dim=1)


class ImageEncoder(nn.Module):
    def __init__(self, shape: tuple[int, int, int], uint8: bool, ortho: bool = True):
        super().__init__()
        self.hwc, self.uint8 = channels_last(shape), uint8
        c, h, w = (shape[2], shape[0], shape[1]) if self.hwc else shape
        side = min(h, w)
        if side <= 16:  # MinAtar (Young & Tian 2019)
            convs = [nn.Conv2d(c, 16, 3, stride=1), nn.ReLU()]
            hidden = 128
        elif side <= 42:  # ikostrikov/pytorch-a3c
            convs = [layer for i in range(4) for layer in (nn.Conv2d(c if i == 0 else 32, 32, 3, 2, 1), nn.ELU())]
            hidden = 256
        else:  # Nature DQN (Mnih et al. 2015)
            convs = [nn.Conv2d(c, 32, 8, 4), nn.ReLU(), nn.Conv2d(32, 64, 4, 2), nn.ReLU(),
                     nn.Conv2d(64, 64, 3, 1), nn.ReLU()]
            hidden = 512
        self.convs = nn.Sequential(*convs, nn.Flatten())
        for layer in self.convs if ortho else ():
            if isinstance(layer, nn.Conv2d):
                nn.init.orthogonal_(layer.weight, gain=np.sqrt(2))
                nn.init.zeros_(layer.bias)
        with torch.no_grad():
            flat = self.convs(torch.zeros(1, c, h, w)).shape[1]
        self.fc = mlp([flat, hidden], nn.ReLU, last=nn.ReLU, ortho=ortho)
        self.features = hidden

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        x = obs.float()
        if self.uint8:
            x = x / 255.0
        if self.hwc:
            x = x.permute(0, 3, 1, 2)
        return self.fc(self.convs(x))
