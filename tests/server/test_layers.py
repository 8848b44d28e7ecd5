"""The layer rule: `cpserver/domain/` imports nothing from the API layer or the web framework."""

from __future__ import annotations

import ast
from pathlib import Path

import cpserver

DOMAIN = Path(cpserver.__file__).parent / "domain"
FORBIDDEN = ("cpserver.api", "fastapi", "starlette")


def _imports(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level > 1:
            # A relative import that climbs out of the domain package.
            found.append((node.lineno, "." * node.level + (node.module or "")))
    return found


def _forbidden(name: str) -> bool:
    return name.startswith("..") or any(name == f or name.startswith(f + ".") for f in FORBIDDEN)


def test_the_domain_imports_nothing_from_the_api_layer() -> None:
    modules = sorted(DOMAIN.rglob("*.py"))
    assert len(modules) > 10, "the domain package was not found"
    offences = [
        f"{path.relative_to(DOMAIN.parent)}:{line} imports {name}"
        for path in modules
        for line, name in _imports(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        if _forbidden(name)
    ]
    assert offences == []


def test_the_check_sees_an_offending_import() -> None:
    tree = ast.parse(
        "from cpserver.api.schemas import RecordPublic\nimport fastapi\nfrom cpserver import api\n"
    )
    names = [name for _line, name in _imports(tree) if _forbidden(name)]
    assert names == ["cpserver.api.schemas", "cpserver.api.schemas.RecordPublic", "fastapi", "cpserver.api"]
