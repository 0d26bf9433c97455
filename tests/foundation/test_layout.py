"""The layout holds: the deployable package never imports the dev kit, nor Airflow in ops/,
and no module imports itself back through another (docs/decisions/0001-layout.md)."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

from tests.conftest import REPO

PACKAGE = REPO / "src" / "hotich"
DEVKIT = REPO / "devkit" / "hotich_dev"


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, module: str) -> set[str]:
    """Every module ``path`` imports, at any depth of the file (absolute names)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _graph(root: Path, prefix: str) -> dict[str, set[str]]:
    modules = {_module_name(p, root.parent): p for p in root.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        graph[name] = {m for m in _imports(path, name) if m in modules and m != name}
    assert all(n.startswith(prefix) for n in graph)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_package_never_imports_the_dev_kit():
    offenders = {
        name: sorted(m for m in _imports(path, name) if m.split(".")[0] == "hotich_dev")
        for path in PACKAGE.rglob("*.py")
        for name in [_module_name(path, PACKAGE.parent)]
    }
    assert {k: v for k, v in offenders.items() if v} == {}
    # The same with git grep, over what is committed (an import through importlib too).
    pattern = r"^\s*(from|import)\s+hotich_dev|import_module\(\s*['\"]hotich_dev"
    out = subprocess.run(
        ["git", "grep", "-nE", pattern, "--", "src/"], cwd=REPO, capture_output=True, text=True
    )
    assert out.stdout == "", out.stdout


def test_ops_knows_nothing_of_airflow():
    for path in (PACKAGE / "ops").rglob("*.py"):
        name = _module_name(path, PACKAGE.parent)
        airflow = sorted(
            m
            for m in _imports(path, name)
            if m.split(".")[0] == "airflow" or m.startswith("hotich.airflow")
        )
        assert airflow == [], f"{path.relative_to(REPO)} imports {airflow}"


def test_stages_know_nothing_of_airflow():
    stages = ["extract", "validate", "reconcile", "load", "report", "normalize", "pipeline"]
    for stage in stages:
        path = PACKAGE / f"{stage}.py"
        paths = [path] if path.exists() else sorted((PACKAGE / stage).rglob("*.py"))
        for p in paths:
            name = _module_name(p, PACKAGE.parent)
            airflow = sorted(
                m
                for m in _imports(p, name)
                if m.split(".")[0] == "airflow" or m.startswith("hotich.airflow")
            )
            assert airflow == [], f"{p.relative_to(REPO)} imports {airflow}"


def test_no_import_cycles():
    assert _cycles(_graph(PACKAGE, "hotich")) == []
    assert _cycles(_graph(DEVKIT, "hotich_dev")) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_plugins_holds_only_the_airflow_plugin():
    files = sorted(p.name for p in (REPO / "plugins").iterdir() if p.name != "__pycache__")
    assert files == ["hotich_plugin.py"]


def test_pip_install_dot_builds_the_package_alone(tmp_path):
    """`pip install .` (what the image does): the wheel holds hotich and nothing of the dev kit,
    and the installed package imports and finds its SQL through HOTICH_PROJECT_DIR."""
    import os
    import sys
    import zipfile

    uv = Path(sys.executable).parent / "uv"
    out = subprocess.run([str(uv), "build", "--wheel", "--out-dir", str(tmp_path), "-q", str(REPO)],
                         capture_output=True, text=True, cwd=tmp_path)  # fmt: skip
    assert out.returncode == 0, out.stderr
    (wheel,) = tmp_path.glob("hotich-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names}
    assert tops == {"hotich", "hotich-0.1.0.dist-info"}
    assert {"hotich/pipeline.py", "hotich/airflow/tasks.py", "hotich/ops/dashboard.py"} <= set(
        names
    )
    target = tmp_path / "site"
    out = subprocess.run([str(uv), "pip", "install", "-q", "--no-deps", "--target", str(target),
                          "-p", sys.executable, str(wheel)], capture_output=True, text=True)  # fmt: skip
    assert out.returncode == 0, out.stderr
    probe = (
        "import hotich, hotich.pipeline, hotich.config as c; "
        "print(hotich.__file__); print(c.Settings().sql_dir)"
    )
    env = {**os.environ, "PYTHONPATH": str(target), "HOTICH_PROJECT_DIR": str(REPO)}
    # The target first on sys.path: it shadows the editable install of this tree.
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         env=env, cwd=tmp_path)  # fmt: skip
    assert run.returncode == 0, run.stderr
    installed, sql_dir = run.stdout.split()
    assert installed.startswith(str(target))
    assert Path(sql_dir) == REPO / "include" / "sql"
