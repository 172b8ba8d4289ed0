"""The package's arrows point one way: raster <- avatar <- render <- guidance <- adapt/meta/eval <- export
<- photo <- app <- cli."""

import ast
from pathlib import Path

import pytest

import alteredavatar

ROOT = Path(alteredavatar.__file__).parent
# stage -> stages it may never import (directly or lazily inside functions)
FORBIDDEN = {
    "raster": {"avatar", "render", "guidance", "adapt", "meta", "eval", "export", "photo", "app", "cli"},
    "avatar": {"render", "guidance", "adapt", "meta", "eval", "export", "photo", "app", "cli"},
    "render": {"guidance", "adapt", "meta", "eval", "export", "photo", "app", "cli"},
    "guidance": {"adapt", "meta", "eval", "export", "photo", "app", "cli"},
    "eval": {"adapt", "meta", "export", "photo", "app", "cli"},
    "adapt": {"meta", "photo", "app", "cli"},
    "export": {"adapt", "meta", "photo", "app", "cli"},
    "meta": {"photo", "app", "cli"},
    "photo": {"adapt", "meta", "app", "cli"},
    "app": {"cli"},
}


def imported_stages(path: Path) -> set[str]:
    stages = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = (
            [a.name for a in node.names]
            if isinstance(node, ast.Import)
            else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 else []
            )
        )
        for name in names:
            parts = name.split(".")
            if parts[0] == "alteredavatar" and len(parts) > 1:
                stages.add(parts[1])
    return stages


@pytest.mark.parametrize("stage", sorted(FORBIDDEN))
def test_stage_imports_only_stages_below_it(stage):
    bad = {
        str(p.relative_to(ROOT)): sorted(imported_stages(p) & FORBIDDEN[stage])
        for p in (ROOT / stage).rglob("*.py")
    }
    assert not {k: v for k, v in bad.items() if v}, bad
