"""The dependency rules of the layout, checked on the source itself.

``credentials/`` and ``keys/`` never import Flask, SQLAlchemy or ``app``; ``credentials/`` does no
network I/O, reads no files but its own package data, and takes time, randomness and the JSON-LD
document loader as arguments. import-linter checks the package-level arrows in ``make test`` too;
these checks also cover calls (``open``, ``datetime.now``…) that import rules cannot see.
"""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FRAMEWORKS = {"flask", "flask_sqlalchemy", "flask_migrate", "sqlalchemy", "app", "qrcode", "PIL"}
NETWORK = {"socket", "ssl", "http", "urllib.request", "requests", "httpx", "aiohttp", "asyncio"}
#: Calls that would give credentials/ a clock, randomness, files or global loader state.
FORBIDDEN_CALLS = {
    "open",
    "datetime.now",
    "datetime.utcnow",
    "date.today",
    "time.time",
    "uuid.uuid4",
    "uuid.uuid1",
    "os.urandom",
    "jsonld.set_document_loader",
    "Path.read_text",
    "Path.read_bytes",
}
FORBIDDEN_MODULES_IN_CREDENTIALS = {"random", "secrets"}
#: A PEM private key block with a body (code that merely names the header does not match).
PEM_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----\s+(?:[A-Za-z0-9+/=]{16,}\s+){2,}")


def _python_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imports(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _calls(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name):
                found.add(func.id)
            elif isinstance(func, ast.Attribute):
                owner = func.value
                if isinstance(owner, ast.Name):
                    found.add(f"{owner.id}.{func.attr}")
                found.add(f"*.{func.attr}")
    return found


def _matches(module: str, banned: set[str]) -> bool:
    return any(module == b or module.startswith(b + ".") for b in banned)


@pytest.mark.parametrize("package", ["credentials", "keys", "schemas"])
def test_libraries_import_no_framework(package: str) -> None:
    for path in _python_files(package):
        imported = _imports(ast.parse(path.read_text()))
        bad = sorted(m for m in imported if _matches(m, FRAMEWORKS))
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_credentials_does_no_network_io_clock_or_randomness() -> None:
    for path in _python_files("credentials"):
        tree = ast.parse(path.read_text())
        imported = _imports(tree)
        bad_imports = sorted(
            m for m in imported if _matches(m, NETWORK | FORBIDDEN_MODULES_IN_CREDENTIALS)
        )
        assert not bad_imports, f"{path.relative_to(ROOT)} imports {bad_imports}"
        calls = _calls(tree)
        bad_calls = sorted(c for c in FORBIDDEN_CALLS if c in calls)
        bad_calls += sorted(c for c in ("*.read_text", "*.read_bytes") if c in calls)
        if path.name == "loader.py" and path.parent.name == "jsonld":
            # The one exception: the loader reads the bundled contexts from package data.
            bad_calls = [c for c in bad_calls if c != "*.read_text"]
        if path.name == "schema.py":
            # ... and the JSON Schema module reads the vendored schemas from package data.
            bad_calls = [c for c in bad_calls if c != "*.read_text"]
        assert not bad_calls, f"{path.relative_to(ROOT)} calls {bad_calls}"


def test_credentials_and_keys_stay_apart_from_app_and_schemas() -> None:
    for path in _python_files("credentials"):
        imported = _imports(ast.parse(path.read_text()))
        bad = sorted(m for m in imported if _matches(m, {"keys", "schemas", "marshmallow"}))
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_only_the_file_store_touches_the_filesystem_in_keys() -> None:
    for path in _python_files("keys"):
        if path.name == "file_store.py":
            continue
        calls = _calls(ast.parse(path.read_text()))
        touched = sorted(c for c in calls if c in {"open", "os.open", "os.replace", "os.makedirs"})
        assert not touched, f"{path.relative_to(ROOT)} touches files: {touched}"


def test_no_private_keys_are_tracked_outside_test_fixtures() -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    leaks = []
    for name in tracked:
        if name.startswith("tests/fixtures/keys/"):
            continue
        path = ROOT / name
        if path.is_file() and path.stat().st_size < 2_000_000:
            try:
                text = path.read_text(errors="ignore")
            except OSError:
                continue
            if PEM_PRIVATE_KEY.search(text):
                leaks.append(name)
    assert not leaks, f"private keys tracked outside tests/fixtures/keys: {leaks}"


def test_every_test_folder_is_a_package() -> None:
    # Without __init__.py, pytest may put tests/ on sys.path and tests/credentials would
    # shadow the real credentials package.
    for folder in (ROOT / "tests").rglob("*"):
        if folder.is_dir() and any(folder.glob("test_*.py")):
            assert (folder / "__init__.py").exists(), f"{folder} has no __init__.py"


def test_wsgi_imports_only_the_factory() -> None:
    imported = _imports(ast.parse((ROOT / "wsgi.py").read_text()))
    assert imported == {"app"}


def test_the_private_key_guard_recognises_real_keys() -> None:
    # The guard above would be worthless if its pattern missed an actual key file.
    sample = next((ROOT / "tests" / "fixtures" / "keys").glob("test-*.pem"))
    assert PEM_PRIVATE_KEY.search(sample.read_text())
    assert not PEM_PRIVATE_KEY.search('HEADER = "-----BEGIN PRIVATE KEY-----"\n')


@pytest.mark.parametrize("library", ["credentials", "keys"])
def test_library_facades_only_re_export(library: str) -> None:
    # The facade is the libraries' public API: imports and __all__, no logic of its own, and
    # every listed name is really there (a module would mean a caller reaches past the facade).
    init = ROOT / library / "__init__.py"
    tree = ast.parse(init.read_text())
    body = tree.body[1:] if ast.get_docstring(tree) else tree.body
    for node in body:
        is_all = isinstance(node, ast.Assign) and [
            t.id for t in node.targets if isinstance(t, ast.Name)
        ] == ["__all__"]
        assert isinstance(node, ast.ImportFrom) or is_all, f"{init}: line {node.lineno} is logic"
    module = importlib.import_module(library)
    exported = module.__all__
    assert len(exported) == len(set(exported))
    for name in exported:
        assert not isinstance(getattr(module, name), types.ModuleType), f"{library}.{name}"
    imported = {
        (alias.asname or alias.name)
        for node in body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert imported == set(exported), imported ^ set(exported)


@pytest.mark.parametrize("package", ["app", "schemas", "keys"])
def test_callers_import_the_libraries_through_their_facades(package: str) -> None:
    # import-linter's "used through its facade" contracts say the same for the import graph;
    # this also catches `from credentials import baking`, a submodule reached by name.
    submodules = {
        f"{library}.{path.stem if path.stem != '__init__' else path.parent.name}"
        for library in ("credentials", "keys")
        for path in (ROOT / library).glob("*/__init__.py")
    } | {
        f"{library}.{path.stem}"
        for library in ("credentials", "keys")
        for path in (ROOT / library).glob("*.py")
        if path.stem != "__init__"
    }
    for path in _python_files(package):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                reached = {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                reached = {node.module} | {f"{node.module}.{a.name}" for a in node.names}
            else:
                continue
            own = package + "."
            bad = sorted(
                m for m in reached if _matches(m, submodules) and not (m + ".").startswith(own)
            )
            assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in edges[module]:
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(edges):
        if module not in index:
            visit(module)
    return found


def test_no_service_module_imports_back_into_a_module_that_imports_it() -> None:
    """No import cycle among the service modules, imports inside functions included (grimp
    reads every import statement), so each domain can be read from the bottom up."""
    import grimp

    graph = grimp.build_graph("app")
    services = {m for m in graph.modules if m.startswith("app.services.")}
    edges = {m: set(graph.find_modules_directly_imported_by(m)) & services for m in services}
    assert _cycles(edges) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(edges) == [["a", "b", "c"]]
