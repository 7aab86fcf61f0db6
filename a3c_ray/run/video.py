"""A clip of the greedy policy: the first evaluation episode as a GIF (or an MP4 where imageio's ffmpeg plugin is
installed), small enough to share: every k-th frame so that at most MAX_FRAMES remain, played at the env's speed
divided by k, frames scaled down to at most MAX_WIDTH pixels wide."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from a3c_ray.errors import ConfigError

MAX_FRAMES = 150
MAX_WIDTH = 320
FORMATS = (".gif", ".mp4")


INSTALL = "pip install \"a3c-ray[video]\""


def check_video_path(path: Path) -> None:
    """Refuse what cannot be written, before any episode is run."""
    try:
        import imageio  # noqa: F401
    except ImportError:
        raise ConfigError(f"--video needs the video extra: {INSTALL}") from None
    if path.suffix.lower() not in FORMATS:
        raise ConfigError(f"--video {str(path)!r}: give a .gif or .mp4 file name")
    if path.suffix.lower() == ".mp4":
        try:
            import imageio_ffmpeg  # noqa: F401
        except ImportError:
            raise ConfigError(f"--video {str(path)!r}: .mp4 needs imageio's ffmpeg plugin (pip install "
                              "imageio-ffmpeg); or give a .gif") from None
    if not path.parent.is_dir():
        raise ConfigError(f"--video {str(path)!r}: the directory {str(path.parent)!r} does not exist")


def frame_skip(frames: int, max_frames: int = MAX_FRAMES) -> int:
    return max(1, math.ceil(frames / max_frames))


def write_video(frames: list[np.ndarray], path: Path, env_fps: float) -> tuple[int, int]:
    """Write every k-th frame; return (frames written, k)."""
    import imageio.v3 as iio
    from PIL import Image

    skip = frame_skip(len(frames))
    kept = [_shrink(f, Image) for f in frames[::skip]]
    fps = max(1.0, env_fps / skip)
    if path.suffix.lower() == ".gif":
        iio.imwrite(path, kept, duration=1000.0 / fps, loop=0)
    else:
        iio.imwrite(path, kept, fps=fps, codec="libx264", plugin="pyav" if _has_pyav() else None)
    return len(kept), skip


def _shrink(frame: np.ndarray, image_module) -> np.ndarray:
    height, width = frame.shape[:2]
    if width <= MAX_WIDTH:
        return frame
    size = (MAX_WIDTH, max(1, round(height * MAX_WIDTH / width)))
    return np.asarray(image_module.fromarray(frame).resize(size, image_module.BILINEAR))


def _has_pyav() -> bool:
    try:
        import av  # noqa: F401
    except ImportError:
        return False
    return True


def first_frame(env) -> np.ndarray:
    """env.render() once, with a clear error when the env cannot render without a missing package."""
    import os

    import gymnasium as gym

    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # pygame draws off-screen: no display, no warnings
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    try:
        return env.render()
    except gym.error.DependencyNotInstalled as exc:
        raise ConfigError(f"--video: this env cannot render here ({str(exc).splitlines()[0]}); {INSTALL} "
                          "brings pygame for the classic-control envs") from None
