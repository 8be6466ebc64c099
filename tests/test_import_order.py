"""The package's layers: every import of a tf_lm module points down, and no two folders import
each other (not even inside a function)."""

import ast
import pathlib

import tf_lm

PACKAGE = pathlib.Path(tf_lm.__file__).parent

# Lower levels never import higher ones; a folder may import folders of its own level.
LEVELS = {
    "errors": 0, "utils": 0, "config": 0, "keras_registration": 0,
    "data": 1, "tokenizers": 1, "ops": 1,
    "layers": 2, "optimizers": 2, "metrics": 2,
    "models": 3,
    "generation": 4, "evaluation": 4, "run_dir": 4, "pretrained": 4,
    "training": 5, "serving": 5,
    "benchmarks": 6,
    "cli": 7,
}


def imported_tf_lm_modules(path, root):
    """(line, module) of every tf_lm module `path` imports, at any depth of the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = path.relative_to(root.parent).with_suffix("").parts
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[:len(here) - node.level]
                yield node.lineno, ".".join(base + ((node.module,) if node.module else ()))
            elif node.module:
                yield node.lineno, node.module


def folder_of(module):
    parts = module.split(".")
    return parts[1] if parts[0] == "tf_lm" and len(parts) > 1 else None


def edges(root=PACKAGE):
    """(file, line, folder, imported folder) for each import of another tf_lm folder."""
    for path in sorted(root.rglob("*.py")):
        if path == root / "__init__.py":
            continue
        source = folder_of(".".join(path.relative_to(root.parent).with_suffix("").parts))
        for line, module in imported_tf_lm_modules(path, root):
            target = folder_of(module)
            if target and target != source:
                yield path.relative_to(root.parent), line, source, target


def test_every_folder_has_a_level():
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    modules = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    assert folders | modules == set(LEVELS)


def test_imports_point_down():
    upward = [f"{path}:{line}: {source} imports {target}"
              for path, line, source, target in edges() if LEVELS[target] > LEVELS[source]]
    assert not upward, "\n".join(upward)


def test_no_two_folders_import_each_other():
    pairs = {(source, target) for _, _, source, target in edges()}
    cycles = sorted(f"{a} <-> {b}" for a, b in pairs if (b, a) in pairs and a < b)
    assert not cycles, cycles


def test_the_checker_sees_function_level_and_relative_imports(tmp_path):
    root = tmp_path / "tf_lm"
    (root / "models").mkdir(parents=True)
    (root / "__init__.py").write_text("from tf_lm.cli import main\n")  # the root is skipped
    (root / "models" / "probe.py").write_text(
        "def f():\n    from tf_lm.training import train\n    from ..serving import x\n")
    found = {(source, target) for _, _, source, target in edges(root)}
    assert found == {("models", "training"), ("models", "serving")}
