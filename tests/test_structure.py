"""The house rules of ../shared/DESIGN.md, checked over the whole package by reading its source
(no module is imported): no floor imports a floor above it; no function over 100 lines and no
class over 250; the GPU convolution type names spelled as string literals in at most three
files."""

from __future__ import annotations

import ast
from pathlib import Path


PACKAGE = Path(__file__).resolve().parents[1] / "minipaddle"

#: top-level part of the package -> its floor (DESIGN.md "Floors"); ``minipaddle`` itself is the
#: face (``from minipaddle import *``), which sits with the command line and the v2 API
FLOORS = {"kernels": 0, "config": 1, "dsl": 2, "runtime": 3, "train": 4, "v2": 5, "cli": 5,
          "__main__": 5, "": 5}
FLOOR_NAMES = {0: "kernels", 1: "config", 2: "dsl", 3: "runtime", 4: "train", 5: "cli/v2/face"}

MAX_FUNCTION_LINES = 100
MAX_CLASS_LINES = 250
GPU_CONV_TYPES = {"cudnn_conv", "cudnn_convt", "exconv", "exconvt"}
MAX_GPU_CONV_TYPE_FILES = 3



def modules() -> list[tuple[str, ast.Module]]:
    """(path relative to the package, syntax tree) of every module of the package."""
    return [(path.relative_to(PACKAGE).as_posix(), ast.parse(path.read_text(), str(path)))
            for path in sorted(PACKAGE.rglob("*.py"))]


def module_name(rel: str) -> str:
    parts = rel[:-len(".py")].split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(["minipaddle"] + parts)


def floor_of(dotted: str) -> int:
    """The floor of a ``minipaddle...`` module name."""
    parts = dotted.split(".")
    return FLOORS[parts[1] if len(parts) > 1 else ""]


def imported(rel: str, tree: ast.Module) -> list[tuple[int, str]]:
    """(line, module) of every minipaddle module ``tree`` imports, at any depth (a function's
    imports count too); ``from X import name`` counts X.name when that is a module."""
    package = module_name(rel) if rel.endswith("__init__.py") else module_name(rel).rsplit(
        ".", 1)[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            submodules = []
            for alias in node.names:
                target = f"{source}.{alias.name}"
                path = PACKAGE.joinpath(*target.split(".")[1:])
                if path.with_suffix(".py").is_file() or (path / "__init__.py").is_file():
                    submodules.append((node.lineno, target))
            # ``from .. import dsl`` imports the submodule, not its package's names
            found += submodules if len(submodules) == len(node.names) else [
                (node.lineno, source)] + submodules
    return [(line, name) for line, name in found
            if name == "minipaddle" or name.startswith("minipaddle.")]


def test_no_floor_imports_a_floor_above_it():
    upward = []
    for rel, tree in modules():
        own = floor_of(module_name(rel))
        for line, name in imported(rel, tree):
            if floor_of(name) > own:
                upward.append(f"minipaddle/{rel}:{line} ({FLOOR_NAMES[own]}, floor {own}) "
                              f"imports {name} (floor {floor_of(name)})")
    assert not upward, "imports running upward:\n" + "\n".join(upward)


def test_kernels_import_no_other_floor():
    """Floor 0 is pure array code: it sees no config, no runtime, nothing above it."""
    found = [f"minipaddle/{rel}:{line} imports {name}" for rel, tree in modules()
             if rel.startswith("kernels/") for line, name in imported(rel, tree)
             if not name.startswith("minipaddle.kernels")]
    assert not found, "\n".join(found)


def long_definitions() -> list[tuple[str, str, int]]:
    """(file, "def name"/"class name", lines) of every function over MAX_FUNCTION_LINES and
    every class over MAX_CLASS_LINES lines (decorators and docstrings included)."""
    found = []
    for rel, tree in modules():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                first = min([node.lineno] + [d.lineno for d in node.decorator_list])
                lines = node.end_lineno - first + 1
                is_class = isinstance(node, ast.ClassDef)
                if lines > (MAX_CLASS_LINES if is_class else MAX_FUNCTION_LINES):
                    kind = "class" if is_class else "def"
                    found.append((rel, f"{kind} {node.name}", lines))
    return found


def test_no_function_over_100_lines_and_no_class_over_250():
    found = long_definitions()
    shown = "\n".join(f"minipaddle/{rel}: {what} has {lines} lines" for rel, what, lines in found)
    assert not found, (f"over {MAX_FUNCTION_LINES} lines (functions) or {MAX_CLASS_LINES} "
                       f"(classes):\n{shown}")


def gpu_conv_type_files() -> dict[str, list[int]]:
    """File -> lines where a GPU convolution type name is a string literal (docstrings and
    comments, which name the types in prose, do not count)."""
    found: dict[str, list[int]] = {}
    for rel, tree in modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and node.value in GPU_CONV_TYPES:
                found.setdefault(rel, []).append(node.lineno)
    return found


def test_gpu_conv_type_names_are_spelled_in_at_most_three_files():
    found = gpu_conv_type_files()
    shown = "\n".join(f"minipaddle/{rel}: lines {', '.join(map(str, lines))}"
                      for rel, lines in found.items())
    assert found, "no file spells the conv type names: the check looks at the wrong thing"
    assert len(found) <= MAX_GPU_CONV_TYPE_FILES, (
        f"{', '.join(sorted(GPU_CONV_TYPES))} spelled as string literals in {len(found)} files "
        f"(at most {MAX_GPU_CONV_TYPE_FILES}):\n{shown}")


def test_the_checks_see_what_they_check():
    """The import walker resolves relative, absolute and submodule imports to their floors
    (so an empty result above means something)."""
    trees = dict(modules())
    assert "minipaddle.config" in {name for _, name in imported("dsl/base.py",
                                                                trees["dsl/base.py"])}
    assert "minipaddle.runtime.backend" in {name for _, name in imported(
        "runtime/gpu.py", trees["runtime/gpu.py"])}
    upward = ast.parse("from ..train import trainer\nimport minipaddle.cli\nimport numpy\n")
    assert [(line, name, floor_of(name)) for line, name in imported("runtime/x.py", upward)] \
        == [(1, "minipaddle.train.trainer", 4), (2, "minipaddle.cli", 5)]
