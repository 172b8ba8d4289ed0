import imageio.v3 as iio
import pytest

from alteredavatar.cli import main


def test_render_writes_turntable_and_grid(tmp_path):
    assert (
        main(
            [
                "render",
                "--output.frames",
                "4",
                "--output.res",
                "32",
                "--output.ssaa",
                "1",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    video = iio.imread(tmp_path / "turntable.mp4")
    assert video.shape[0] == 4 and video.shape[1:3] == (32, 32)
    grid = iio.imread(tmp_path / "expressions.png")
    assert grid.shape[0] > 3 * 32 and grid.shape[1] > 6 * 32
    assert not list(tmp_path.glob(".*")), "no temp files left behind"


def test_bad_input_is_one_line_error(tmp_path, capsys):
    assert main(["render", "--output.frames", "0", "--out", str(tmp_path)]) == 2
    assert main(["render", "--avatar", str(tmp_path / "missing.glb"), "--out", str(tmp_path)]) == 2
    assert main(["render", "--avatar", "builtin:nobody", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "missing.glb" in err and "nobody" in err


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "render" in capsys.readouterr().out


COMMANDS = [
    "stylize",
    "apply",
    "mix",
    "export",
    "meta-train",
    "render",
    "fit-avatar",
    "avatar-from-photo",
    "build-landmark-map",
    "demo",
    "app",
]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "usage" in out and len(out) > 300


NOT_OURS = {"--no-deps", "--force-reinstall", "--nproc-per-node"}  # pip's and torchrun's, in install hints


def test_every_flag_named_in_the_package_exists(capsys):
    """Messages and hints may only name flags the CLI has (they used to say --text for --style.text)."""
    import ast
    import re
    from pathlib import Path

    import alteredavatar

    flags = {"--help", "--debug"}
    for command in COMMANDS:
        with pytest.raises(SystemExit):
            main([command, "--help"])
        flags |= set(re.findall(r"--[a-z][a-z0-9_.-]*[a-z0-9]", capsys.readouterr().out))
    named = {}
    for path in Path(alteredavatar.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                for flag in re.findall(r"(?<![\w-])--[a-z][a-z0-9_.-]*[a-z0-9]", node.value):
                    named.setdefault(flag, path.name)
    unknown = {
        f: p
        for f, p in named.items()
        if f not in flags | NOT_OURS and not any(g.startswith(f + ".") for g in flags)
    }
    assert not unknown, unknown


def test_a_prompt_with_terminal_escapes_is_refused_before_it_is_echoed(tmp_path, capsys):
    code = main(["stylize", "--style.text", "a \x1b[2J statue", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and "\x1b[2J" not in err and "U+001B" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()
