"""The package's shape, read from its imports: the wings depend downwards only, no cycle, no module reaches back
into its own package's __init__, every module short enough to read at once, and the light doors stay light."""

from __future__ import annotations

import subprocess
import sys

import pytest
from import_graph import PACKAGE, cycles, edges, modules, own_door_imports

MAX_LINES = 250
# wing -> wings it must never import (the algorithm never imports a backend or the run machinery, ...)
NEVER = {
    "a3c_ray.core": ("a3c_ray.backends", "a3c_ray.run", "a3c_ray.cli", "a3c_ray.tune"),
    "a3c_ray.envs": ("a3c_ray.core", "a3c_ray.backends", "a3c_ray.run", "a3c_ray.cli", "a3c_ray.tune"),
    "a3c_ray.backends": ("a3c_ray.run", "a3c_ray.cli", "a3c_ray.tune"),
    "a3c_ray.plumbing": ("a3c_ray.core", "a3c_ray.envs", "a3c_ray.backends", "a3c_ray.run", "a3c_ray.cli"),
}
KNOWN = modules()
GRAPH = edges(KNOWN)


def test_the_import_graph_sees_the_package():
    assert len(KNOWN) > 40 and "a3c_ray.core.model" in GRAPH["a3c_ray.core.loss"]


def test_no_import_cycle():
    assert cycles(GRAPH) == []


def test_no_module_imports_its_own_packages_init():
    assert own_door_imports(GRAPH, KNOWN) == []


@pytest.mark.parametrize("wing", sorted(NEVER))
def test_a_wing_imports_only_the_wings_below_it(wing):
    wrong = sorted((m, t) for m, targets in GRAPH.items() if m.startswith(wing + ".") or m == wing
                   for t in targets if t.startswith(NEVER[wing]))
    assert wrong == []


def test_every_module_is_short():
    long = {name: n for name, path in KNOWN.items() if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def imported_by(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", f"import sys; {code}; print(' '.join(sorted(sys.modules)))"],
                         capture_output=True, text=True, timeout=120, check=True).stdout.split()
    return {name.split(".")[0] for name in out}


def test_import_a3c_ray_pulls_in_neither_gymnasium_nor_torch():
    loaded = imported_by(f"import {PACKAGE}")
    assert PACKAGE in loaded and not {"gymnasium", "torch"} & loaded


def test_an_aggregator_unpickles_a_gradient_batch_without_torch():
    loaded = imported_by("import a3c_ray.core, a3c_ray.envs, a3c_ray.backends.ray_aggregator, pickle; "
                         "from a3c_ray.core.gradient_batch import GradientBatch; "
                         "pickle.loads(pickle.dumps(GradientBatch()))")
    assert "ray" in loaded and "torch" not in loaded
