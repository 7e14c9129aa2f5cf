"""The layers of ARCHITECTURE.md, enforced: every import in the package (lazy ones too) goes down."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "emulator"

# What each layer may import of the package (itself always); see ARCHITECTURE.md.
ALLOWED = {
    "clock": set(),
    "ids": {"clock"},
    "contract": set(),
    "state": {"contract"},
    "engine": {"contract", "state", "clock", "ids"},
    "scenarios": {"engine", "contract", "state", "clock", "ids"},
    "render": {"engine", "contract", "clock"},
    "http": {"engine", "render", "contract", "state", "clock"},
}
# Third-party packages of the transports, which the core must not know.
WEB = {"starlette", "uvicorn", "httpx", "httpx2"}
NO_WEB = {"clock", "ids", "contract", "state", "engine", "scenarios"}


def layer_of(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def imports(path: Path, source: str | None = None) -> list[tuple[int, str]]:
    """(line, module) of every import in a file (or in `source`, as if it were that file)."""
    tree = ast.parse(path.read_text() if source is None else source, str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the file's package
                base = path.relative_to(PACKAGE.parent).with_suffix("").parts[: -node.level]
                found.append((node.lineno, ".".join([*base, node.module or ""]).rstrip(".")))
            else:
                found.append((node.lineno, node.module or ""))
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if layer_of(p) in ALLOWED)


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(PACKAGE)) for p in MODULES])
def test_imports_go_down_the_layers(path: Path) -> None:
    layer = layer_of(path)
    wrong = []
    for line, module in imports(path):
        parts = module.split(".")
        if parts[0] == "emulator" and len(parts) > 1:
            target = parts[1]
            if target != layer and target not in ALLOWED[layer]:
                wrong.append(
                    f"line {line}: {module} ({layer} may import {sorted(ALLOWED[layer]) or 'nothing'})"
                )
        elif layer in NO_WEB and parts[0] in WEB:
            wrong.append(f"line {line}: {module} (a transport's library, in the core)")
    assert wrong == []


def test_every_module_belongs_to_a_layer_or_the_top() -> None:
    """A new folder must be placed in the layers (here and in ARCHITECTURE.md) before it is used."""
    top = {"app", "cli", "config", "pytest_plugin", "testing", "__init__", "__main__"}
    assert {layer_of(p) for p in PACKAGE.rglob("*.py")} <= set(ALLOWED) | top


def test_the_walk_sees_every_kind_of_import() -> None:
    source = (
        "import starlette\nfrom ..http import auth\n\ndef f():\n    from emulator.scenarios import model\n"
    )
    found = imports(PACKAGE / "engine" / "probe.py", source)
    assert [m for _, m in found] == ["starlette", "emulator.http", "emulator.scenarios"]
