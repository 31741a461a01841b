"""The folders are the layers: what each layer of nin/ may import, read from the source with `ast`.

The README promises image -> nin/serve (numbers) -> nin/render (pictures) -> nin/ui (the page), with training
apart in nin/train, the core modules at the top of nin/ under all of them, and the scripts of tools/ a leaf
that nothing imports. Every import statement counts, relative ones and those under `if TYPE_CHECKING:` and
inside functions too, so a promise cannot be kept only at run time.
"""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NIN = ROOT / "nin"
MAX_FUNCTION_LINES = 120
MAX_MODULE_LINES = 400
CORE = ("nin.model", "nin.data", "nin.ink", "nin.masks", "nin.names", "nin.metrics_file", "nin.files")
ABOVE_CORE = ("nin.serve", "nin.render", "nin.ui", "nin.train", "nin.dev")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def absolute(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The module an ImportFrom names, its dots resolved against `module` (a package's own name when it is one)."""
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    base = base[:len(base) - node.level + (1 if is_package else 0)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(source: str, module: str, is_package: bool = False) -> set[str]:
    """Every module name an import statement of `source` names (`from a import b` names a and a.b)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = absolute(module, is_package, node)
            names.add(target)
            names.update(f"{target}.{alias.name}" for alias in node.names)
    return names


def imported(path: Path) -> set[str]:
    """The nin modules a file imports (`from nin.x import y` counts as nin.x.y when that is a module)."""
    names = imports_of(path.read_text(), module_name(path), path.name == "__init__.py")
    return {name for name in names if name == "nin" or name.startswith("nin.")}


GRAPH = {module_name(path): imported(path) for path in sorted(NIN.rglob("*.py"))}
MODULES = set(GRAPH)


def edges_into(layer: str, graph: dict[str, set[str]] = GRAPH) -> dict[str, set[str]]:
    """Module -> the modules it imports, for every module of `layer` (e.g. "nin.serve")."""
    return {module: {name for name in names if name in MODULES}
            for module, names in graph.items() if module == layer or module.startswith(layer + ".")}


def crossings(layer: str, forbidden: tuple[str, ...], graph: dict[str, set[str]] = GRAPH) -> list[str]:
    return [f"{module} imports {name}" for module, names in edges_into(layer, graph).items() for name in sorted(names)
            if any(name == f or name.startswith(f + ".") for f in forbidden)]


def test_the_import_reader_sees_this_projects_modules():
    assert {"nin.serve.pipeline", "nin.render.view", "nin.ui.page", "nin.train.loop", "nin.metrics_file"} <= MODULES
    assert "nin.render.view" in GRAPH["nin.ui.prediction_events"] and "nin.metrics_file" in GRAPH["nin.train.publish"]


def test_the_checker_finds_a_wrong_import_relative_or_absolute():
    """A deliberately wrong module: the core importing the page, once by name and once by dots."""
    wrong = "from nin.ui import page\nfrom .serve import pipeline\n"
    graph = {"nin.ink": {name for name in imports_of(wrong, "nin.ink") if name.startswith("nin.")}}
    assert {"nin.ink imports nin.serve.pipeline", "nin.ink imports nin.ui.page"} <= set(crossings("nin.ink", ABOVE_CORE, graph))
    assert imports_of("from . import checks\nfrom ..model import NiN\n", "nin.serve.lessons") >= {
        "nin.serve.checks", "nin.model.NiN"}


def test_the_core_modules_import_nothing_from_the_layers_above_them():
    for core in CORE:
        assert core in MODULES
        assert crossings(core, ABOVE_CORE) == []


def test_nothing_imports_the_scripts_of_tools():
    found = []
    for path in [ROOT / "app.py", *sorted(NIN.rglob("*.py")), *sorted((ROOT / "tests").glob("*.py")),
                 *sorted((ROOT / "tools").glob("*.py"))]:
        names = imports_of(path.read_text(), module_name(path), path.name == "__init__.py")
        found += [f"{path.relative_to(ROOT)} imports {name}" for name in sorted(names)
                  if name == "tools" or name.startswith("tools.")]
    assert found == []


def test_no_module_imports_another_modules_private_name():
    found = []
    for path in [ROOT / "app.py", *sorted(NIN.rglob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom):
                found += [f"{path.relative_to(ROOT)}: {node.module}.{alias.name}" for alias in node.names
                          if alias.name.startswith("_") and not alias.name.startswith("__")]
    assert found == []


def test_no_module_in_nin_is_longer_than_400_lines():
    long = [f"{path.relative_to(ROOT)} ({count} lines)" for path in sorted(NIN.rglob("*.py"))
            if (count := len(path.read_text().splitlines())) > MAX_MODULE_LINES]
    assert long == []


def test_serve_imports_nothing_from_render_or_ui():
    assert crossings("nin.serve", ("nin.render", "nin.ui")) == []


def test_render_imports_nothing_from_ui():
    assert crossings("nin.render", ("nin.ui",)) == []


def test_train_imports_nothing_from_serve_render_or_ui():
    assert crossings("nin.train", ("nin.serve", "nin.render", "nin.ui")) == []


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


def test_every_render_module_imports_without_torch_or_gradio():
    """nin/render's docstring: numpy, PIL and strings only. Checked in a fresh interpreter, where nothing else
    has imported torch yet."""
    render = sorted(module_name(path) for path in (NIN / "render").glob("*.py"))
    code = ("import importlib, sys\n"
            f"for name in {render!r}: importlib.import_module(name)\n"
            "print(sorted(m for m in ('torch', 'gradio') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert len(render) >= 6 and out.strip() == "[]"


def test_the_canvas_path_imports_without_torch():
    """nin/ink.py, the canvas path, is numpy and PIL: the 28 px side comes from nin.names, not from nin.data."""
    code = "import sys, nin.ink\nprint('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_the_readme_layout_names_every_module_and_folder_of_nin():
    readme = (ROOT / "README.md").read_text()
    layout = readme[readme.index("## Layout"):]
    layout = layout[:layout.index("```", layout.index("```") + 3)]
    missing = [str(path.relative_to(ROOT)) for path in sorted(NIN.rglob("*.py"))
               if not path.name.startswith("__") and path.parent != NIN and path.stem not in layout
               and path.parent.name not in ("attack",)]
    missing += [f"nin/{path.name}/" for path in sorted(NIN.iterdir()) if path.is_dir()
                and not path.name.startswith("__") and path.name != "examples" and f"nin/{path.name}/" not in layout]
    assert missing == []
