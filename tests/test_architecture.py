"""The shape of the code, checked on its source (issue 14 items 1 and 5): the import graph of
conference/ has no cycle, the core imports no domain, no module reaches into another's private
names, and modules stay under 400 lines.

The graph counts every import a module makes, at module level and inside functions (a deferred
import is still a dependency), except those under `if TYPE_CHECKING:` (annotations only)."""

from __future__ import annotations

import ast
import itertools
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "conference"

# The core: settings, the engine, errors, i18n, formatting, forms, audited records and the web
# infrastructure. Domains build on it; it imports none of them (what it needs from a domain, the
# app factory hands in: the role labels for templates, the session lookups for the middleware, the
# integrations' listener for audited changes through conference.hooks).
CORE = {
    "conference.settings", "conference.db", "conference.piccolo_conf", "conference.errors", "conference.i18n",
    "conference.timefmt", "conference.forms", "conference.records", "conference.collation", "conference.workdays",
    "conference.hooks", "conference.roles", "conference.sqlcompile",
    # The audit trail's writer: every audited write (conference.records) records there. It lives
    # beside the trail's pages in the audit package, but belongs to the core and imports no domain.
    "conference.audit.services",
}
CORE_PACKAGES = ("conference.web",)  # every module in them is core

LONG = 400  # lines; a longer module holds more than one responsibility: split it (migrations excepted)


@dataclass
class Module:
    name: str
    path: Path
    imports: dict[str, int] = field(default_factory=dict)  # module imported -> first line
    private_uses: list[tuple[int, str]] = field(default_factory=list)  # (line, "conference.x._name")


def _module_name(path: Path, package: Path) -> str:
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node, except the bodies of `if TYPE_CHECKING:` (their `else:` still counts)."""
    found: list[ast.AST] = []
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        found.append(node)
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))
    return found


def _modules(package: Path) -> dict[str, Module]:
    modules = {}
    for path in sorted(package.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        modules[_module_name(path, package)] = Module(_module_name(path, package), path)
    return modules


def _resolve(name: str, modules: dict[str, Module]) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def build_graph(package: Path = PACKAGE) -> dict[str, Module]:
    modules = _modules(package)
    for module in modules.values():
        tree = ast.parse(module.path.read_text(encoding="utf-8"))
        package = module.name if module.path.name == "__init__.py" else module.name.rpartition(".")[0]
        aliases: dict[str, str] = {}  # a local name bound to a conference module
        nodes = _runtime_nodes(tree)
        for node in nodes:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("conference"):
                        target = _resolve(alias.name, modules)
                        if target:
                            module.imports.setdefault(target, node.lineno)
                            if alias.asname:
                                aliases[alias.asname] = target
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                if not source.startswith("conference"):
                    continue
                for alias in node.names:
                    submodule = f"{source}.{alias.name}"
                    if submodule in modules:  # `from conference.meetings import services`
                        module.imports.setdefault(submodule, node.lineno)
                        aliases[alias.asname or alias.name] = submodule
                        continue
                    target = _resolve(source, modules)
                    if target:
                        module.imports.setdefault(target, node.lineno)
                        if alias.name.startswith("_") and not alias.name.startswith("__") and target != module.name:
                            module.private_uses.append((node.lineno, f"{target}.{alias.name}"))
        for node in nodes:  # `views._helper(...)` through a module bound above
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
                    and node.attr.startswith("_") and not node.attr.startswith("__")
                    and aliases[node.value.id] != module.name):
                module.private_uses.append((node.lineno, f"{aliases[node.value.id]}.{node.attr}"))
        module.imports.pop(module.name, None)
    return modules


def _cycles(modules: dict[str, Module]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0
    for root in sorted(modules):
        if root in index:
            continue
        work = [(root, iter(sorted(modules[root].imports)))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(modules[child].imports))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    return components


def _one_cycle(component: list[str], modules: dict[str, Module]) -> list[str]:
    """A shortest way round from the component's first module back to it, with the import lines."""
    members = set(component)
    start = component[0]
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for target in sorted(modules[node].imports):
            if target == start:
                return [*paths[node], start]
            if target in members and target not in paths:
                paths[target] = [*paths[node], target]
                queue.append(target)
    return component


def _describe(path: list[str], modules: dict[str, Module]) -> str:
    steps = [f"{a} (line {modules[a].imports[b]}) -> {b}" for a, b in itertools.pairwise(path)]
    return "\n    ".join(steps)


def _is_core(name: str) -> bool:
    return name in CORE or any(name == p or name.startswith(p + ".") for p in CORE_PACKAGES)


def _is_schema(name: str) -> bool:
    """A domain's table declarations: the schema is shared ground (rows of one domain point at
    another's by foreign key), so the core may name a table; tables import only tables and core."""
    return name.endswith(".tables")


def test_no_import_cycles() -> None:
    modules = build_graph()
    cycles = _cycles(modules)
    report = "\n".join(f"{len(c)} modules: {', '.join(c)}\n    {_describe(_one_cycle(c, modules), modules)}" for c in cycles)
    assert not cycles, "import cycles (a deferred import counts too):\n" + report


def test_the_core_imports_no_domain() -> None:
    modules = build_graph()
    assert CORE <= set(modules), sorted(CORE - set(modules))
    wrong = [f"{name} (line {line}) -> {target}"
             for name, module in sorted(modules.items()) if _is_core(name) or _is_schema(name)
             for target, line in sorted(module.imports.items())
             if not (_is_core(target) or _is_schema(target) or target == "conference")]
    assert not wrong, "core or table modules importing a domain (or what is built on the domains):\n" + "\n".join(wrong)


def test_no_module_uses_another_modules_private_names() -> None:
    modules = build_graph()
    wrong = [f"{module.path.relative_to(ROOT)}:{line} uses {what}"
             for module in modules.values() for line, what in module.private_uses]
    assert not wrong, "private names used across modules:\n" + "\n".join(sorted(wrong))


def _line_counts() -> dict[str, int]:
    return {str(path.relative_to(ROOT)): len(path.read_text(encoding="utf-8").splitlines())
            for path in PACKAGE.rglob("*.py") if "migrations" not in path.parts}


def test_modules_stay_under_400_lines() -> None:
    counts = _line_counts()
    too_long = {path: n for path, n in counts.items() if n > LONG}
    assert not too_long, f"modules over {LONG} lines (split them by responsibility): {sorted(too_long.items())}"


def test_the_checker_counts_deferred_imports_and_skips_type_checking_blocks(tmp_path: Path) -> None:
    """The checker itself, on a package of three modules: a function-level import is an edge (and
    closes a cycle), an annotation-only one is not; a private name reached through a module counts."""
    package = tmp_path / "conference"
    (package / "one").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "one" / "__init__.py").write_text("")
    (package / "a.py").write_text("from conference.one import b\n")
    (package / "one" / "b.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from conference.one.c import C\n"
        "def f():\n    from conference import a\n    return a._hidden\n")
    (package / "one" / "c.py").write_text("from conference.one.b import f\n")
    graph = build_graph(package)
    assert graph["conference.one.b"].imports == {"conference.a": 5}
    assert graph["conference.one.c"].imports == {"conference.one.b": 1}
    assert graph["conference.one.b"].private_uses == [(6, "conference.a._hidden")]
    assert _cycles(graph) == [["conference.a", "conference.one.b"]]
    assert _one_cycle(["conference.a", "conference.one.b"], graph) == ["conference.a", "conference.one.b", "conference.a"]
