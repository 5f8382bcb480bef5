"""The package's shape: imports point one way (no cycle, not even inside a function)."""

from __future__ import annotations

import ast
from pathlib import Path

import role_classifier

PACKAGE = Path(role_classifier.__file__).parent


def _module(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path, name: str) -> set[str]:
    """Modules of the package that ``path`` imports anywhere (top level or in a function)."""
    is_pkg = path.name == "__init__.py"
    here = name.split(".") if name else []
    base = here if is_pkg else here[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            anchor = base[: len(base) - (node.level - 1)] if node.level > 1 else base
            target = ".".join([*anchor, *(node.module.split(".") if node.module else [])])
            for alias in node.names if not node.module else [None]:
                out.add(f"{target}.{alias.name}".strip(".") if alias else target)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("role_classifier"):
            out.add(node.module.removeprefix("role_classifier").strip("."))
    return out


def _graph() -> dict[str, set[str]]:
    files = {_module(p): p for p in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in files.items():
        deps = set()
        for target in _imports(path, name):
            while target and target not in files:  # "from .x import name": the module x
                target = target.rpartition(".")[0]
            if target in files and target != name:
                deps.add(target)
        graph[name] = deps
    return graph


def test_no_import_cycle() -> None:
    graph = _graph()
    # a package's __init__ re-exporting its own submodules is not a cycle of behaviour
    for name, deps in graph.items():
        graph[name] = {d for d in deps if not (d and name.startswith(d + ".") or d == "")}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                cycle = stack[stack.index(dep) :] + [dep]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_lower_stages_never_import_higher_ones() -> None:
    graph = _graph()
    order = ["cli", "serve", "labelling", "evaluation", "shares", "training", "finetune"]
    order += ["training_config"]  # the training stage's settings
    low = ["modeling", "encoders", "text", "cache", "threads", "errors", "taxonomy", "io"]
    low += ["progress", "dates", "markup", "sections"]  # progress bar; dates; HTML; sections
    for name, deps in graph.items():
        if name.split(".")[0] in low:
            bad = {d for d in deps if d.split(".")[0] in order}
            assert not bad, f"{name} imports {bad}"
    for name in graph:
        if name.startswith("encoders"):
            assert not {d for d in graph[name] if d.startswith("modeling")}, name


def test_functions_fit_on_a_screen() -> None:
    """No function body (after its docstring) runs over 60 lines: split it into named steps."""
    long = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            body = node.body
            has_doc = isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
            start = body[1].lineno if has_doc and len(body) > 1 else body[0].lineno
            if node.end_lineno - start + 1 > 60:
                long.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name}")
    assert not long, f"functions over 60 lines: {long}"


MAX_MODULE_LINES = 600


def test_modules_fit_in_one_sitting() -> None:
    """No module of the package runs over 600 lines: split it by what its parts do."""
    long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = path.relative_to(PACKAGE).as_posix()
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > MAX_MODULE_LINES:
            long.append(f"{name} ({lines} lines)")
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"
