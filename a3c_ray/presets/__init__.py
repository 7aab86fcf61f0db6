"""Tuned settings shipped per env id (CartPole-v1.json) or family (ALE.json, MinAtar.json)."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any


def load_preset(env_id: str) -> dict[str, Any]:
    """Tuned settings shipped for this env id, else for its family ("ALE/..." -> ALE.json, "MinAtar/..." ->
    MinAtar.json), or {} when there is none."""
    presets = resources.files(__name__)
    for name in (env_id.replace(":", "_").replace("/", "_"), env_id.split("/")[0] if "/" in env_id else None):
        if name and presets.joinpath(name + ".json").is_file():
            return json.loads(presets.joinpath(name + ".json").read_text())
    return {}
