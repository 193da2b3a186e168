"""The import graph points down: no package imports one above it, and module sizes stay small.

Layers, lowest first (``docs/architecture.md`` explains them). A module may import modules of its
own package and of any lower layer; packages on the same layer do not import each other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

LAYERS: tuple[tuple[str, ...], ...] = (
    ("core",),
    ("core.errors",),
    ("core.schema",),
    ("core.progress", "core.checks", "core.faults"),
    ("core.metrics",),
    ("core.data",),
    ("core.engines",),
    ("core.simulate",),
    ("core.text",),
    ("core.models",),
    ("core.fusion", "core.synth"),
    ("core.search",),
    ("core.evaluation",),
    ("core.figures",),
    ("core.pipeline",),
    ("core.__main__",),
    ("ui",),
    ("pages", "app"),
)

# Largest module, in lines, per front: the vocabulary is a data file, not logic.
MAX_LINES = {"core": 700, "ui": 400, "pages": 200}
DATA_FILES = {"core/simulate/vocabulary.py"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _sources() -> list[Path]:
    files = [ROOT / "app.py"]
    for folder in ("core", "ui", "pages"):
        files += sorted((ROOT / folder).rglob("*.py"))
    return files


def _unit(module: str) -> tuple[int, str]:
    """(layer, package) of a module: the longest layer entry that prefixes it."""
    best: tuple[int, str] | None = None
    for rank, names in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and (
                best is None or len(name) > len(best[1])
            ):
                best = (rank, name)
    if best is None:
        raise AssertionError(f"{module} is on no layer: add it to LAYERS and the architecture doc")
    return best


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.split(".")[0] in {"core", "ui", "pages"}}


def _edges() -> list[tuple[str, str]]:
    known = {_module_name(path) for path in _sources()}
    edges = []
    for path in _sources():
        source = _module_name(path)
        for target in _imports(path):
            # ``from core.data import clean`` names the module core.data.clean.
            if target not in known:
                target = target.rsplit(".", 1)[0]
            if target in known:
                edges.append((source, target))
    return edges


def test_every_module_has_a_layer() -> None:
    for path in _sources():
        _unit(_module_name(path))


def test_imports_only_point_down() -> None:
    upward = []
    for source, target in _edges():
        (source_rank, source_unit), (target_rank, target_unit) = _unit(source), _unit(target)
        if source_unit != target_unit and source_rank <= target_rank:
            upward.append(f"{source} -> {target}")
    assert upward == []


def test_core_never_imports_streamlit() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "core").rglob("*.py"))
        if any(name.split(".")[0] == "streamlit" for name in _all_imports(path))
    ]
    assert offenders == []


def _all_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("front", sorted(MAX_LINES))
def test_modules_stay_small(front: str) -> None:
    limit = MAX_LINES[front]
    too_long = {
        str(path.relative_to(ROOT)): n
        for path in sorted((ROOT / front).rglob("*.py"))
        if str(path.relative_to(ROOT)) not in DATA_FILES
        and (n := len(path.read_text(encoding="utf-8").splitlines())) > limit
    }
    assert too_long == {}


def test_the_layer_rule_catches_an_upward_import() -> None:
    models_rank, _ = _unit("core.models.als")
    fusion_rank, _ = _unit("core.fusion.gate")
    assert fusion_rank > models_rank
    assert _unit("core.synth")[0] == _unit("core.fusion")[0]
    assert _unit("core.data.ingest.load") == (_unit("core.data")[0], "core.data")


def test_every_error_type_is_declared_in_core_errors() -> None:
    declared_elsewhere = []
    for path in sorted((ROOT / "core").rglob("*.py")):
        if path.name == "errors.py" and path.parent.name == "core":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                bases = {getattr(base, "id", getattr(base, "attr", "")) for base in node.bases}
                if any(base.endswith(("Error", "Exception", "Cancelled")) for base in bases):
                    declared_elsewhere.append(f"{path.relative_to(ROOT)}: {node.name}")
    assert declared_elsewhere == []
