"""The layout's dependency rule, read from the imports themselves (AST), so that it stays true.

- ``core`` is the ground: it imports no app of the project.
- ``panel`` is the top: no app imports it.
- Apps use each other only through their public modules: services, selectors, scope and validators
  (never models, forms, views or urls).
- There is no import cycle between top-level packages.
- Modules stay small enough to read: at most 400 lines (migrations and tests aside), and a view
  (a public function in a views or api module, such as panel.session_api) at most 25 lines.
- No app imports a benchmark-only dependency (Django REST framework, the `[bench]` extra).
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ("core", "usersessions", "organisation", "accounts", "tokens", "mfa", "passkeys", "panel")
PUBLIC_MODULES = {"services", "selectors", "scope", "validators"}
MODULE_MAX_LINES = 400
VIEW_MAX_LINES = 25
BENCH_ONLY = {"rest_framework"}


def _modules():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield app, path


def _imports(path):
    """The project modules ``path`` imports, as dotted names (``from a import b`` gives ``a.b``)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] if "." in node.module else [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        yield from (name for name in names if name.split(".")[0] in APPS)


def _cross_app_imports():
    for app, path in _modules():
        for name in _imports(path):
            if name.split(".")[0] != app:
                yield app, path.relative_to(ROOT), name


def test_core_imports_no_app():
    assert [(str(path), name) for app, path, name in _cross_app_imports() if app == "core"] == []


def test_no_app_imports_panel():
    assert [(str(path), name) for app, path, name in _cross_app_imports() if name.split(".")[0] == "panel"] == []


def test_apps_use_each_other_only_through_their_public_modules():
    offending = [
        (str(path), name)
        for app, path, name in _cross_app_imports()
        if app != "panel" and name.split(".")[0] != "core" and name.split(".")[1] not in PUBLIC_MODULES
    ]
    assert offending == []


def test_no_import_cycle_between_top_level_packages():
    graph = {app: set() for app in APPS}
    for app, _path, name in _cross_app_imports():
        graph[app].add(name.split(".")[0])
    order, state = [], {}

    def visit(app, trail):
        if state.get(app) == "done":
            return
        if state.get(app) == "visiting":
            pytest.fail("import cycle: " + " -> ".join([*trail, app]))
        state[app] = "visiting"
        for dependency in sorted(graph[app]):
            visit(dependency, [*trail, app])
        state[app] = "done"
        order.append(app)

    for app in APPS:
        visit(app, [])
    assert order.index("core") < min(order.index(app) for app in APPS if app != "core")


@pytest.mark.parametrize(("app", "path"), list(_modules()), ids=lambda value: str(value).replace(str(ROOT), ""))
def test_module_is_short_enough_to_read(app, path):
    assert len(path.read_text(encoding="utf-8").splitlines()) <= MODULE_MAX_LINES


def test_views_are_thin():
    long_views = []
    for _app, path in _modules():
        if not path.stem.endswith(("views", "api")):
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                length = node.end_lineno - node.lineno + 1
                if length > VIEW_MAX_LINES:
                    long_views.append(f"{path.relative_to(ROOT)}:{node.name} ({length} lines)")
    assert long_views == []


def test_no_app_imports_a_benchmark_only_dependency():
    """Django REST framework is the ``[bench]`` extra, bench/api_auth.py's yardstick: the panel never needs it."""
    offending = []
    for _app, path in _modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            else:
                continue
            offending += [f"{path.relative_to(ROOT)}: {name}" for name in names if name.split(".")[0] in BENCH_ONLY]
    assert offending == []
