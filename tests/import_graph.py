"""The package's own imports, read from its source: which module imports which (run-time imports only: those under
`if TYPE_CHECKING:` are left out, at module level or inside functions alike).

    python tests/import_graph.py    # modules per package, the longest modules, cycles, imports of a package's own door
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "a3c_ray"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted((ROOT / PACKAGE).rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST):
    """Import nodes, skipping the bodies of `if TYPE_CHECKING:`."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            yield from (n for child in node.orelse for n in _imports_of(child))
            continue
        yield from _imports_of(node)


def _imports_of(node: ast.AST):
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        yield node
    else:
        yield from _imports(node)


def edges(known: dict[str, Path]) -> dict[str, set[str]]:
    """module -> the package's modules it imports. `from a3c_ray.x import y` imports a3c_ray.x.y when that is a
    module, else a3c_ray.x; importing a submodule also runs its packages' __init__ files, which are not counted
    as arrows (every import of a3c_ray.core.model would otherwise be one into a3c_ray)."""
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        targets: set[str] = set()
        for node in _imports(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names if a.name.split(".")[0] == PACKAGE}
            elif node.module and node.module.split(".")[0] == PACKAGE and node.level == 0:
                submodules = {f"{node.module}.{a.name}" for a in node.names} & set(known)
                targets |= submodules
                if len(submodules) < len(node.names):  # a name defined in the module itself
                    targets.add(node.module)
        graph[name] = {t for t in targets if t in known and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each an import cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def own_door_imports(graph: dict[str, set[str]], known: dict[str, Path]) -> list[tuple[str, str]]:
    """(module, package): a module that imports the __init__ of a package it lives in."""
    return [(m, t) for m, targets in graph.items() for t in targets
            if known[t].name == "__init__.py" and m.startswith(t + ".")]


def report() -> str:
    known = modules()
    graph = edges(known)
    lines = {name: len(path.read_text().splitlines()) for name, path in known.items()}
    packages: dict[str, int] = {}
    for name, path in known.items():
        package = module_name(path.parent / "__init__.py")
        packages[package] = packages.get(package, 0) + 1
    longest = sorted(lines.items(), key=lambda kv: -kv[1])[:5]
    out = ["modules per package: " + ", ".join(f"{p} {n}" for p, n in sorted(packages.items())),
           "longest: " + ", ".join(f"{m} {n}" for m, n in longest),
           f"arrows: {sum(len(t) for t in graph.values())}",
           f"cycles: {cycles(graph) or 'none'}",
           f"imports of a package's own __init__: {own_door_imports(graph, known) or 'none'}"]
    return "\n".join(out)


if __name__ == "__main__":
    print(report())
