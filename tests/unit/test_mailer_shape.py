"""The mailer's shape: no import cycle, and `domain/` free of I/O, so its rules stay
testable without a broker, a database or an SMTP server."""

from __future__ import annotations

import ast
from pathlib import Path

import portal_mailer

PACKAGE = Path(portal_mailer.__file__).parent
# Libraries that talk to the outside world (or read files, as jinja2's loader does).
IO_LIBRARIES = {"aio_pika", "aiormq", "aiosmtplib", "asyncpg", "aiohttp", "jinja2", "socket"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(("portal_mailer", *parts)).removesuffix(".__init__")


def imports(path: Path, for_type_checking: bool = True) -> set[str]:
    """Modules that `path` imports; without those under `if TYPE_CHECKING:` when
    `for_type_checking` is False (what runs)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only = set() if for_type_checking else {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and ast.unparse(block.test) == "TYPE_CHECKING"
        for statement in block.body
        for node in ast.walk(statement)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "portal_mailer":
                found |= {f"portal_mailer.{alias.name}" for alias in node.names}
            else:
                found.add(node.module)
    return found


def mailer_graph() -> dict[str, set[str]]:
    """Who imports whom, type-checking imports included: a cycle hidden behind
    TYPE_CHECKING still sends a reader in circles."""
    return {
        module_name(path): {m for m in imports(path) if m.startswith("portal_mailer.")}
        for path in PACKAGE.rglob("*.py")
    }


def test_no_module_of_the_mailer_imports_itself_back() -> None:
    graph = mailer_graph()
    cycles = []

    def visit(module: str, path: list[str]) -> None:
        for imported in graph.get(module, set()):
            if imported in path:
                cycles.append([*path[path.index(imported):], imported])
            elif imported not in checked:
                checked.add(imported)
                visit(imported, [*path, imported])

    checked: set[str] = set()
    for module in sorted(graph):
        if module not in checked:
            checked.add(module)
            visit(module, [module])

    assert len(graph) > 10  # the walk found the package
    assert cycles == []


def test_the_domain_does_no_io_and_needs_nothing_outside_it() -> None:
    domain = sorted((PACKAGE / "domain").glob("*.py"))
    assert len(domain) >= 5

    for path in domain:
        running = imports(path, for_type_checking=False)
        top_level = {name.split(".")[0] for name in running}
        assert not top_level & IO_LIBRARIES, path.name
        outside = {m for m in running if m.startswith("portal_mailer.")} - {
            m for m in running if m.startswith("portal_mailer.domain")
        }
        assert outside == set(), path.name
