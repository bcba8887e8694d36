"""The package's import graph, read with `ast` (imports inside functions included): no cycle, and an import
inside a function only where it keeps a heavy library (torch, transformers, ...) off the path of a module
that does not need it at import time, never to dodge a cycle."""

import ast
import re
import sys
from pathlib import Path

from helpers import REPO

PACKAGE = "instructalign"
SRC = REPO / "src"
HEAVY = {
    "torch",
    "transformers",
    "peft",
    "datasets",
    "accelerate",
    "safetensors",
    "matplotlib",
    "scipy",
    "sklearn",
    "sacrebleu",
    "pyarrow",
    "lm_eval",
    "huggingface_hub",
}


def modules() -> dict[str, Path]:
    found = {}
    for path in (SRC / PACKAGE).rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(mod: str, path: Path, known: dict) -> list[tuple[str, bool, int]]:
    """(imported name, inside a function?, line) for each import of `mod`: package modules resolved to the
    most specific module, other names as their top-level package."""
    tree = ast.parse(path.read_text("utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    base = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            root = node.module or ""
            if node.level:
                root = ".".join(base[: len(base) - node.level + 1] + ([root] if root else []))
            names = [f"{root}.{a.name}" for a in node.names]
        else:
            continue
        local, up = False, parents.get(node)
        while up is not None:
            local |= isinstance(up, (ast.FunctionDef, ast.AsyncFunctionDef))
            if isinstance(up, ast.If) and "TYPE_CHECKING" in ast.unparse(up.test):
                names = []
            up = parents.get(up)
        for name in names:
            if name.split(".")[0] == PACKAGE:
                while name not in known:
                    name = name.rpartition(".")[0]
            else:
                name = name.split(".")[0]
            if name != mod:
                found.append((name, local, node.lineno))
    return found


def graph() -> tuple[dict, dict]:
    known = modules()
    edges = {mod: imports(mod, path, known) for mod, path in known.items()}
    return known, edges


def cycles(edges: dict) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), a package and its own submodule
    aside."""
    internal = {m: {t for t, _, _ in e if t in edges} for m, e in edges.items()}
    index, low, stack, on, found = {}, {}, [], set(), []
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in internal[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            component.sort()
            if len(component) > 2 or (
                len(component) == 2 and not component[1].startswith(component[0] + ".")
            ):
                found.append(component)

    for v in internal:
        if v not in index:
            visit(v)
    return found


def heavy_at_import(edges: dict) -> dict[str, bool]:
    """Whether importing a module imports a heavy library (through module-level imports only)."""
    memo: dict[str, bool] = {}

    def heavy(mod: str, seen: frozenset) -> bool:
        if mod not in memo:
            top = [t for t, local, _ in edges[mod] if not local]
            memo[mod] = any(t in HEAVY for t in top) or any(
                heavy(t, seen | {mod}) for t in top if t in edges and t not in seen
            )
        return memo[mod]

    return {mod: heavy(mod, frozenset()) for mod in edges}


def test_the_import_graph_has_no_cycle():
    _, edges = graph()
    assert cycles(edges) == []


def test_imports_inside_functions_only_keep_heavy_libraries_off_a_light_module():
    known, edges = graph()
    heavy = heavy_at_import(edges)
    dodges = [
        f"{known[mod].relative_to(SRC)}:{line} imports {target} inside a function"
        for mod, found in edges.items()
        for target, local, line in found
        if local and target in edges and (heavy[mod] or not heavy[target])
    ]
    assert dodges == []


def test_the_graph_reader_sees_a_cycle_made_inside_a_function(tmp_path, monkeypatch):
    pkg = tmp_path / PACKAGE
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .b import x\n")
    (pkg / "b.py").write_text("x = 1\n\ndef f():\n    from . import a\n")
    monkeypatch.setattr(sys.modules[__name__], "SRC", tmp_path)
    _, edges = graph()
    assert cycles(edges) == [[f"{PACKAGE}.a", f"{PACKAGE}.b"]]


def test_outputs_is_the_only_module_that_renames_or_locks():
    """Folders are renamed, swapped and locked in outputs.py only; files.py renames one file onto its target
    (an atomic write), nothing else does either."""
    moves = re.compile(r"os\.rename\(|os\.replace\(|shutil\.move\(|\.rename\(|\bfcntl\b|\bflock\b|mkdtemp\(")
    found = [
        f"{path.relative_to(SRC / PACKAGE)}:{number}"
        for path in sorted((SRC / PACKAGE).rglob("*.py"))
        if path.name != "outputs.py"
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1)
        if moves.search(line)
    ]
    assert [f.split(":")[0] for f in found] == ["files.py"], found


def layout_block() -> str:
    """The package layout as README's development section draws it (a fenced block under 'Layout')."""
    readme = (REPO / "README.md").read_text("utf-8")
    start = readme.index("```\nsrc/instructalign/\n")
    return readme[start + 4 : readme.index("```", start + 4)]


def test_the_readme_layout_names_every_module_and_no_other():
    """Each line of the drawing is the top level (two spaces), a package (`  name/  modules`) or the same
    package continued (deeper indent); together they name every module of the tree, and nothing else."""
    drawn: dict[str, set[str]] = {}
    package = ""
    for line in layout_block().splitlines()[1:]:
        text = line.split("#")[0]
        if head := re.match(r"  (\w+)/", text):
            package = head.group(1)
        elif not text.startswith("   "):
            package = ""
        drawn.setdefault(package, set()).update(re.findall(r"(\w+\.py)\b", text))
    folders = {p.parent for p in (SRC / PACKAGE).rglob("__init__.py")}
    tree = {
        ("" if folder == SRC / PACKAGE else folder.name): {p.name for p in folder.glob("*.py")}
        - {"__init__.py"}
        for folder in folders
    }
    tree[""] -= {"__main__.py"}
    assert drawn == tree
