"""The folders are the layers: what each layer of nin/ may import, read from the source with `ast`.

The README promises image -> nin/serve (numbers) -> nin/draw (pictures) -> nin/ui (the page), with training
apart in nin/train. Every import statement counts, those under `if TYPE_CHECKING:` and inside functions too,
so a promise cannot be kept only at run time.
"""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NIN = ROOT / "nin"
MAX_FUNCTION_LINES = 120


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> set[str]:
    """The nin modules a file imports (`from nin.x import y` counts as nin.x.y when that is a module)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in names if name == "nin" or name.startswith("nin.")}


GRAPH = {module_name(path): imported(path) for path in sorted(NIN.rglob("*.py"))}
MODULES = set(GRAPH)


def edges_into(layer: str) -> dict[str, set[str]]:
    """Module -> the modules it imports, for every module of `layer` (e.g. "nin.serve")."""
    return {module: {name for name in names if name in MODULES}
            for module, names in GRAPH.items() if module == layer or module.startswith(layer + ".")}


def crossings(layer: str, forbidden: tuple[str, ...]) -> list[str]:
    return [f"{module} imports {name}" for module, names in edges_into(layer).items() for name in sorted(names)
            if any(name == f or name.startswith(f + ".") for f in forbidden)]


def test_the_import_reader_sees_this_projects_modules():
    assert {"nin.serve.pipeline", "nin.draw.view", "nin.ui.page", "nin.train.loop", "nin.metrics"} <= MODULES
    assert "nin.draw.view" in GRAPH["nin.ui.events"] and "nin.metrics" in GRAPH["nin.train.publish"]


def test_serve_imports_nothing_from_draw_or_ui():
    assert crossings("nin.serve", ("nin.draw", "nin.ui")) == []


def test_draw_imports_nothing_from_ui():
    assert crossings("nin.draw", ("nin.ui",)) == []


def test_train_imports_nothing_from_serve_draw_or_ui():
    assert crossings("nin.train", ("nin.serve", "nin.draw", "nin.ui")) == []


def test_no_module_of_nin_imports_itself_through_others():
    graph = {module: {name for name in names if name in MODULES and name != module}
             for module, names in GRAPH.items()}
    # A package's __init__ imports nothing here, so an edge to a package is an edge to a module that runs no code.
    state: dict[str, str] = {}
    cycles = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for name in sorted(graph[module]):
            if state.get(name) == "open":
                cycles.append(" -> ".join(path[path.index(name):] + [name]))
            elif name not in state:
                visit(name, path + [name])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_no_function_in_nin_is_longer_than_120_lines():
    long = []
    for path in sorted(NIN.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines} lines)")
    assert long == []


def test_every_drawing_module_imports_without_torch_or_gradio():
    """nin/draw's docstring: numpy, PIL and strings only. Checked in a fresh interpreter, where nothing else
    has imported torch yet."""
    draw = sorted(module_name(path) for path in (NIN / "draw").glob("*.py"))
    code = ("import importlib, sys\n"
            f"for name in {draw!r}: importlib.import_module(name)\n"
            "print(sorted(m for m in ('torch', 'gradio') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert len(draw) >= 6 and out.strip() == "[]"
