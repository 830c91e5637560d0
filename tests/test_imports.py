"""Imports run one way: the shared words (hw.isa) and the config at the bottom, RTL above
them, the board build (boards) on the RTL, the host side (sim) on top; the golden model
never imports an RTL module."""

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STDLIB = set(sys.stdlib_module_names)


def imports(path):
    """Absolute names of what a file imports (relative imports resolved; `from m import a`
    gives m.a)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            out += [f"{module}.{a.name}" for a in node.names]
    return out


def files(folder):
    return sorted((ROOT / folder).rglob("*.py"))


def offenders(folder, allowed):
    bad = []
    for path in files(folder):
        for name in imports(path):
            if not allowed(name):
                bad.append(f"{path.relative_to(ROOT)}: {name}")
    return bad


def test_hw_never_imports_sim():
    assert files("hw")
    assert offenders("hw", lambda n: not n.startswith("sim")) == []


def test_board_sits_on_the_rtl():
    """boards/ (platform, board top) builds on hw/; hw/ never reaches up to it, and neither
    imports the host side."""
    assert files("boards")
    assert offenders("hw", lambda n: not n.startswith("boards")) == []
    assert offenders("boards", lambda n: not n.startswith("sim")) == []


def test_isa_imports_only_config_and_amaranth_data():
    ok = lambda n: (n.split(".")[0] in STDLIB
                    or n.startswith(("hw.config.", "hw.isa.", "amaranth.hdl.",
                                     "amaranth.lib.data", "amaranth.lib.enum")))
    assert offenders("hw/isa", ok) == []


def test_golden_model_imports_no_rtl_module():
    ok = lambda n: not n.startswith("hw.") or n.startswith(("hw.config.", "hw.isa."))
    assert offenders("sim/golden", ok) == []


@pytest.mark.parametrize("name", ["sim/golden/ccore.py", "hw/ccore.py"])
def test_the_checker_sees_imports(name):
    """The walk resolves relative imports (a checker that saw nothing would pass anything)."""
    assert "hw.isa.tile.Tile" in imports(ROOT / name) or \
        "hw.isa.tile.ccore_tile_layout" in imports(ROOT / name)
