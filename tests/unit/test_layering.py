"""Dependencies point one way: media ← distribution ← plugins ← dags."""

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

    Starting the ``airflow`` command itself (``airflow_stack``) is Airflow's own process, not the domain's.
    """
    offenders = {str(p.relative_to(ROOT)): lines for p in _domain_files() if p.suffix == ".py"
                 if (lines := _python_children(ast.parse(p.read_text(encoding="utf-8"))))}
    assert offenders == {}
    only_airflow_gets_plugins = [str(p.relative_to(ROOT)) for p in _domain_files() if p.suffix == ".py"
                                 and b"PYTHONPATH" in p.read_bytes()]
    assert only_airflow_gets_plugins == ["distribution/airflow_stack.py"]


def test_the_checks_see_the_old_trigger_loop() -> None:
    """The subprocess hop the checks above forbid, as ``airflow_bridge`` made it before: both are caught."""
    old = ('import subprocess, sys\n'
           'def _run_plugin(module, args, env):\n'
           '    return subprocess.run([sys.executable, "-m", f"ardis_airflow.{module}", *args], env=env)\n')
    assert _python_children(ast.parse(old)) == [3]
    assert b"ardis_airflow" in old.encode()
