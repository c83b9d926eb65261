"""The house rules, checked on the code: what the runtime may import, and how modules depend.

* the import closure of the ROS node and of ``IKSolver`` (after a solve) holds no training,
  plotting, benchmark or peer code, and no JIT;
* no import cycles between ik_nn's modules, and no private name (``_x``) of one module used
  by another;
* the README's layout table states exactly each runtime module's ik_nn imports.
"""
from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "ik_nn"
FORBIDDEN = ("torch", "matplotlib", "tqdm", "roboticstoolbox", "ikpy", "numba", "onnx",
             "scipy", "ik_nn.bench", "ik_nn.training")


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict:
    """{dotted name: path} of every Python module of the package."""
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def resolve(current: str, is_package: bool, level: int, target: str | None) -> str:
    base = current.split(".") if is_package else current.split(".")[:-1]
    if level > 1:
        base = base[:len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def imports(name: str, path: Path, known: dict):
    """(ik_nn modules imported anywhere in the file, [(module, private name)] imported)."""
    tree = ast.parse(path.read_text())
    is_package = path.name == "__init__.py"
    found, private = set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("ik_nn"))
        elif isinstance(node, ast.ImportFrom):
            mod = (resolve(name, is_package, node.level, node.module) if node.level
                   else node.module or "")
            if not mod.startswith("ik_nn"):
                continue
            for a in node.names:
                sub = f"{mod}.{a.name}"
                if sub in known or a.name == "_kernels":
                    found.add(sub)
                else:
                    found.add(mod)
                    if a.name.startswith("_"):
                        private.append((mod, a.name))
    return found - {name}, private


def graph() -> dict:
    known = modules()
    return {n: imports(n, p, known)[0] for n, p in known.items()}


def test_node_and_solver_import_no_tools_no_training_no_jit():
    code = (
        "import sys, numpy as np\n"
        "import ik_nn.ros.ik_node\n"
        "from ik_nn import IKSolver\n"
        "s = IKSolver('ur5'); s.solve(s.arm.fk(np.zeros(6))[0]); s.hypotheses(np.eye(4))\n"
        "s.solve(s.arm.fk(np.zeros((300, 6))), seed=np.zeros(6))\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r} "
        f"or m.startswith({FORBIDDEN[-2:]!r}))\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert out.strip() == "[]", out


def test_no_import_cycles():
    g = graph()
    state = {}

    def visit(n, stack):
        state[n] = "open"
        for m in sorted(g.get(n, ())):
            if m not in g:
                continue
            if state.get(m) == "open":
                cycle = stack[stack.index(m):] + [m]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if m not in state:
                visit(m, stack + [m])
        state[n] = "done"

    for n in sorted(g):
        if n not in state:
            visit(n, [n])


def test_no_private_names_across_modules():
    known = modules()
    offenders = []
    for name, path in known.items():
        _, private = imports(name, path, known)
        offenders += [f"{name} imports {mod}.{attr}" for mod, attr in private]
        # module._attr through an imported ik_nn module (the compiled _kernels is the
        # package's own private module and is used through its public functions)
        tree = ast.parse(path.read_text())
        is_package = path.name == "__init__.py"
        aliases = {a.asname or a.name for node in ast.walk(tree)
                   if isinstance(node, ast.ImportFrom) and node.level for a in node.names
                   if f"{resolve(name, is_package, node.level, node.module)}.{a.name}" in known}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in aliases and node.attr.startswith("_")
                    and not node.attr.startswith("__")):
                offenders.append(f"{name} uses {node.value.id}.{node.attr}")
    assert not offenders, offenders


def runtime_modules() -> set:
    """The import closure of the node and the API, from the static graph."""
    g = graph()
    todo = ["ik_nn.ros.entry", "ik_nn.ros.ik_node", "ik_nn.ros.sim_arm",
            "ik_nn.ros.target_publisher", "ik_nn.ros.bringup", "ik_nn", "ik_nn.arm",
            "ik_nn.solver"]
    seen = set()
    while todo:
        n = todo.pop()
        if n in seen or n not in g:
            continue
        seen.add(n)
        todo += g[n]
    return seen


def test_runtime_never_imports_tools_even_lazily():
    g = graph()
    bad = {n: sorted(m for m in g[n] if m.startswith(("ik_nn.bench", "ik_nn.training")))
           for n in runtime_modules()}
    assert not {n: b for n, b in bad.items() if b}


def test_readme_layout_table_matches_the_imports():
    text = (REPO / "README.md").read_text()
    section = text.split("<!-- layout:start -->")[1].split("<!-- layout:end -->")[0]
    rows = re.findall(r"^\| `([\w/.]+)` \|[^|]*\| ([^|]*) \|$", section, flags=re.M)
    assert rows, "no layout rows in the README"
    g = graph()
    stated = {}
    for path, deps in rows:
        name = module_name(REPO / path)
        stated[name] = {"ik_nn." + d.strip(" `") if d.strip(" `") != "ik_nn" else "ik_nn"
                        for d in deps.split(",") if d.strip(" `—-")}
    runtime = {n for n in runtime_modules() if n != "ik_nn._kernels"}
    assert set(stated) == runtime, (sorted(set(stated) ^ runtime))
    for name, deps in stated.items():
        real = {m for m in g[name] if m in g or m == "ik_nn._kernels"}
        assert deps == real, f"{name}: README says {sorted(deps)}, code imports {sorted(real)}"
