"""Dependencies point one way: media ← distribution ← plugins ← dags; the command and the harness above the domain.

Within ``distribution`` the ``cli`` package sits above the rest, and ``devkit`` (demo and test harness) above
both. The import graph of every module (imports inside functions included) has no cycle, and nothing reaches
upward, not even through a child process (``python -m …``) or a string naming the plugin.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports(package: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


def test_distribution_and_media_never_import_airflow() -> None:
    offenders = [f for pkg in ("distribution", "media") for f, n in _imports(pkg).items() if "airflow" in n]
    assert offenders == []


def test_media_never_imports_distribution() -> None:
    assert [f for f, n in _imports("media").items() if "distribution" in n] == []


def test_importing_every_domain_module_loads_no_airflow() -> None:
    """The static check above misses dynamic imports; this catches them."""
    modules = sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for pkg in ("distribution", "media")
        for p in (ROOT / pkg).rglob("*.py")
    )
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "bad = sorted(m for m in sys.modules if m == 'airflow' or m.startswith('airflow.'))\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(modules) > 5


def _domain_files() -> list[Path]:
    return sorted(p for pkg in ("distribution", "media") for p in (ROOT / pkg).rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts)


def test_no_domain_file_names_the_plugin() -> None:
    """Not even as a string (``python -m ardis_airflow.trigger``): the domain reaches Airflow over HTTP only."""
    offenders = [str(p.relative_to(ROOT)) for p in _domain_files()
                 if any(name in p.read_bytes() for name in (b"ardis_airflow", b"ardis_plugin"))]
    assert offenders == []


_SPAWNERS = {"run", "Popen", "call", "check_call", "check_output", "create_subprocess_exec", "execv", "execve",
             "execvp", "execvpe", "spawnv", "spawnve", "spawnvp", "spawnvpe"}


def _is_sys_executable(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "executable" and \
        isinstance(node.value, ast.Name) and node.value.id == "sys"


def _python_children(tree: ast.AST) -> list[int]:
    """Lines where a process is started with this interpreter (``sys.executable``) as its program."""
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if name in _SPAWNERS and any(_is_sys_executable(n) for arg in node.args for n in ast.walk(arg)):
            lines.append(node.lineno)
    return lines


def test_no_domain_module_starts_a_python_child() -> None:
    """A child interpreter could import plugin code behind the layering's back (the old trigger loop did).

    Starting the ``airflow`` command itself is the harness's business (``devkit.airflow_stack``), not the domain's.
    """
    offenders = {str(p.relative_to(ROOT)): lines for p in _domain_files() if p.suffix == ".py"
                 if (lines := _python_children(ast.parse(p.read_text(encoding="utf-8"))))}
    assert offenders == {}
    only_airflow_gets_plugins = [str(p.relative_to(ROOT)) for p in _domain_files() if p.suffix == ".py"
                                 and b"PYTHONPATH" in p.read_bytes()]
    assert only_airflow_gets_plugins == []


def test_the_checks_see_the_old_trigger_loop() -> None:
    """The subprocess hop the checks above forbid, as ``airflow_bridge`` made it before: both are caught."""
    old = ('import subprocess, sys\n'
           'def _run_plugin(module, args, env):\n'
           '    return subprocess.run([sys.executable, "-m", f"ardis_airflow.{module}", *args], env=env)\n')
    assert _python_children(ast.parse(old)) == [3]
    assert b"ardis_airflow" in old.encode()


# --- the import graph -------------------------------------------------------------------------------------------

_PACKAGES = ("distribution", "media", "devkit")


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT / "plugins") if path.is_relative_to(ROOT / "plugins") else path.relative_to(ROOT)
    return ".".join(rel.with_suffix("").parts).removesuffix(".__init__")


def _all_modules() -> dict[str, Path]:
    found = {_module_name(p): p for pkg in _PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    found |= {_module_name(p): p for p in (ROOT / "plugins" / "ardis_airflow").rglob("*.py")}
    found |= {f"dags.{p.stem}": p for p in (ROOT / "dags").glob("*.py")}
    return found


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    """The longest known module that ``name`` (a module or a module's attribute) lies in."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def _graph() -> dict[str, set[str]]:
    known = _all_modules()
    graph: dict[str, set[str]] = {}
    for module, path in known.items():
        edges: set[str] = set()
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
                # ``from pkg import mod`` imports the module (as import-linter reads it); ``from mod import name``, mod
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
            for target in targets:
                if (hit := _resolve(target, known)) and hit != module:
                    edges.add(hit)
        graph[module] = edges
    return graph


def _layer(module: str) -> str:
    if module.startswith("distribution.cli"):
        return "cli"
    return module.split(".")[0]


# who may import whom (by layer); the rest of a module's imports are third-party or the standard library
_MAY_IMPORT = {
    "media": {"media"},
    "distribution": {"media", "distribution"},
    "cli": {"media", "distribution", "cli"},
    "devkit": {"media", "distribution", "cli", "devkit"},
    "ardis_airflow": {"media", "distribution", "ardis_airflow"},
    "dags": {"ardis_airflow"},
}


def test_every_import_points_down_the_layers() -> None:
    upward = sorted(f"{m} -> {d}" for m, deps in _graph().items() for d in deps if _layer(d) not in _MAY_IMPORT[_layer(m)])
    assert upward == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

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
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_no_import_cycle() -> None:
    """Every strongly connected component of Ardis's import graph is one module."""
    assert _cycles(_graph()) == []


def test_the_graph_sees_a_cycle_and_an_upward_import() -> None:
    """The checks above are not blind: the old models ↔ subscription_models circle and a domain → devkit import."""
    graph = _graph()
    assert "distribution.models" in graph["distribution.subscriptions.models"]
    assert "distribution.subscriptions.models" not in graph["distribution.models"]
    assert "distribution.orders.placing" in graph["distribution.cli.main"]
    assert _layer("devkit.demo") not in _MAY_IMPORT[_layer("distribution.orders.delivery")]
    graph["distribution.models"].add("distribution.subscriptions.models")  # put the old circle back
    assert ["distribution.models", "distribution.subscriptions.models"] in _cycles(graph)


def test_the_top_level_of_distribution_stays_small() -> None:
    """Only what every package shares lives at the top (issue 11: at most 12 modules)."""
    top = sorted(p.stem for p in (ROOT / "distribution").glob("*.py") if p.name != "__init__.py")
    assert len(top) <= 12, top


def test_modules_stay_small() -> None:
    big = sorted(f"{m} ({n})" for m, p in _all_modules().items()
                 if (n := len(p.read_text(encoding="utf-8").splitlines())) > 620)
    assert big == []


def test_callers_use_a_package_api_not_its_internals() -> None:
    """``media`` and ``distribution.remote`` are used through ``__init__``'s ``__all__``; tests may look inside."""
    graph = _graph()
    internal = sorted(f"{m} -> {d}" for m, deps in graph.items() for d in deps
                      for api in ("media", "distribution.remote")
                      if d.startswith(api + ".") and not m.startswith(api + ".") and m != api)
    assert internal == []
    import media

    assert all(hasattr(media, name) for name in media.__all__)
