"""`alteredavatar stylize` end to end on a tiny network, and its answers to bad input."""

import json

import pytest
import torch

from alteredavatar.cli import main
from alteredavatar.export.media import to_uint8, write_png
from alteredavatar.guidance.procedural import procedural_style

FAST = [
    "--adapt.steps",
    "2",
    "--adapt.batch",
    "1",
    "--adapt.res",
    "32",
    "--output.frames",
    "2",
    "--output.res",
    "32",
    "--output.ssaa",
    "1",
]


@pytest.fixture(scope="module")
def style_png(tmp_path_factory):
    path = tmp_path_factory.mktemp("style") / "mosaic.png"
    write_png(to_uint8(procedural_style("mosaic", 0, 64)[None])[0], path)
    return path


def _run(tmp_path, net, *args):
    return main(["stylize", "--net", str(net), "--out", str(tmp_path / "out"), *FAST, *args])


def test_stylize_writes_every_output(tmp_path, tiny_net_path, style_png):
    assert _run(tmp_path, tiny_net_path, "--style.image", str(style_png), "--style.guidance", "texture") == 0
    out = tmp_path / "out"
    names = {p.name for p in out.iterdir()}
    assert {
        "style.safetensors",
        "style.json",
        "metrics.json",
        "turntable.mp4",
        "expressions.png",
        "portrait.png",
        "portrait_original.png",
    } <= names
    from PIL import Image

    for name in ("portrait.png", "portrait_original.png"):
        with Image.open(out / name) as im:
            assert im.size == (512, 512)
    meta = json.loads((out / "style.json").read_text())
    assert meta["steps"] == 2 and meta["init"] == "unstylized" and len(meta["image_sha256"]) == 64
    # the shipped meta init belongs to the built-in network: the fallback says so and how to make one
    assert (
        "made for another avatar network" in meta["init_note"]
        and f"--net {tiny_net_path}" in meta["init_note"]
    )
    assert meta["guidance_model"].startswith("texture") and "style_texture_distance" in meta["metrics"]
    assert (
        main(
            [
                "apply",
                str(out),
                "--net",
                str(tiny_net_path),
                "--out",
                str(tmp_path / "applied"),
                "--output.frames",
                "2",
                "--output.res",
                "32",
                "--output.ssaa",
                "1",
            ]
        )
        == 0
    )
    assert (tmp_path / "applied" / "turntable.mp4").exists()
    assert (
        main(["mix", str(out), str(out), "--t", "0.3", "--out", str(tmp_path / "mixed"), "--no-render"]) == 0
    )
    from alteredavatar.adapt.style_file import load_style

    mixed, mixed_meta = load_style(tmp_path / "mixed")
    original, _ = load_style(out)
    assert mixed_meta["t"] == 0.3 and all(torch.allclose(mixed[k], original[k]) for k in original)


@pytest.mark.parametrize(
    "args,message",
    [
        (["--style.text", "   ", "--style.clip", "CLIP"], "empty"),
        (["--style.text", "x" * 10_000, "--style.clip", "CLIP"], "limit"),
        (["--style.image", "MISSING.png", "--style.guidance", "texture"], "MISSING.png"),
        (["--style.image", "TEXT.png", "--style.guidance", "texture"], "not an image"),
        (["--style.image", "CORRUPT.png", "--style.guidance", "texture"], "corrupt"),
        (["--style.image", "PIXEL.png", "--style.guidance", "texture"], "at least"),
        (
            ["--style.image", "STYLE", "--style.guidance", "texture", "--objective.strength", "1.5"],
            "strength",
        ),
        (["--style.image", "STYLE", "--style.guidance", "texture", "--adapt.steps", "0"], "steps"),
        (["--style.text", "a marble statue", "--style.clip", "/nonexistent/clip"], "download"),
        (["--style.image", "STYLE", "--adapt.lr", "nan"], "--adapt.lr"),
        (["--style.image", "STYLE", "--adapt.lr", "inf"], "--adapt.lr"),
        (["--style.image", "STYLE", "--adapt.lr", "1e9"], "--adapt.lr"),
        (["--style.image", "STYLE", "--adapt.views.fov-deg", "0"], "--adapt.views.fov-deg"),
        (["--style.image", "STYLE", "--objective.identity-weight", "-5"], "--objective.identity-weight"),
        (["--style.image", "STYLE", "--objective.lowpass-factor", "0"], "--objective.lowpass-factor"),
        (["--style.image", "STYLE", "--objective.crop-size", "0"], "--objective.crop-size"),
        (["--style.image", "STYLE", "--style.vgg.style-scale", "0"], "--style.vgg.style-scale"),
        (
            ["--style.image", "STYLE", "--style.text", "bricks", "--style.guidance", "vgg"],
            "--style.guidance clip",
        ),
    ],
)
def test_bad_input_fails_cleanly_and_writes_nothing(
    tmp_path, tiny_net_path, tiny_clip_path, style_png, capsys, args, message
):
    from PIL import Image

    (tmp_path / "TEXT.png").write_text("hello")
    good = style_png.read_bytes()
    (tmp_path / "CORRUPT.png").write_bytes(good[: len(good) // 3])
    Image.new("RGB", (1, 1)).save(tmp_path / "PIXEL.png")
    subst = {"CLIP": tiny_clip_path, "STYLE": str(style_png)}
    args = [subst.get(a, str(tmp_path / a) if a.endswith(".png") and a[:-4].isupper() else a) for a in args]
    assert _run(tmp_path, tiny_net_path, *args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    out = tmp_path / "out"
    assert not out.exists() or not any(out.iterdir())


def test_unwritable_output_dir_is_refused(tmp_path, tiny_net_path, style_png, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("")  # a folder cannot be created under a file, even as root
    code = main(
        [
            "stylize",
            "--net",
            str(tiny_net_path),
            "--out",
            str(blocker / "out"),
            *FAST,
            "--style.image",
            str(style_png),
            "--style.guidance",
            "texture",
        ]
    )
    assert code == 2 and "cannot create output folder" in capsys.readouterr().err


def test_text_stylize_with_clip_and_an_independent_judge(tmp_path, tiny_net_path, tiny_clip_path):
    from alteredavatar.guidance.tiny_clip import make_tiny_clip

    judge = make_tiny_clip(tmp_path / "judge", seed=1, image_size=32, patch_size=8)
    assert (
        _run(
            tmp_path,
            tiny_net_path,
            "--style.text",
            "a marble statue",
            "--style.clip",
            tiny_clip_path,
            "--eval-clip",
            judge,
        )
        == 0
    )
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert "independent" in metrics["clip_text_similarity"]["model"]
    assert {"clip_directional_similarity", "view_consistency_clip_std", "identity_lowpass_mse"} <= set(
        metrics
    )
    note = json.loads((tmp_path / "out" / "style.json").read_text())["init_note"]
    assert "no meta-learned init for clip guidance" in note and "guidance: clip" in note


def test_ctrl_c_saves_what_it_has(tmp_path, tiny_net_path, style_png, monkeypatch):
    from alteredavatar.adapt.guide import StyleGuide

    calls = {"n": 0}
    real = StyleGuide.losses

    def interrupt_on_third(self, *args):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(self, *args)

    monkeypatch.setattr(StyleGuide, "losses", interrupt_on_third)
    assert (
        _run(
            tmp_path,
            tiny_net_path,
            "--style.image",
            str(style_png),
            "--style.guidance",
            "texture",
            "--adapt.steps",
            "10",
        )
        == 0
    )
    meta = json.loads((tmp_path / "out" / "style.json").read_text())
    assert meta["interrupted"] is True and meta["steps"] == 2 and meta["steps_requested"] == 10
    assert (tmp_path / "out" / "style.safetensors").exists()


def test_a_stop_from_on_step_keeps_what_it_has_like_ctrl_c(tmp_path, tiny_net_path, style_png):
    from alteredavatar.adapt.guide import StyleSpec
    from alteredavatar.adapt.loop import AdaptConfig, StopRequested
    from alteredavatar.adapt.run import StylizeJob, run_stylize
    from alteredavatar.export.outputs import OutputConfig

    def stop_after_three(done, total, parts):
        if done == 3:
            raise StopRequested

    job = StylizeJob(
        style=StyleSpec(image=style_png, guidance="texture"),
        out=tmp_path / "out",
        adapt=AdaptConfig(steps=10, batch=1, res=32),
        output=OutputConfig(frames=2, res=32, portrait_res=32),
        net=tiny_net_path,
        metrics=False,
    )
    meta = run_stylize(job, progress=False, on_step=stop_after_three)
    saved = json.loads((tmp_path / "out" / "style.json").read_text())
    assert saved["interrupted"] is True and saved["steps"] == 3 and saved["steps_requested"] == 10
    assert (
        meta["outputs"]["portrait"].endswith("portrait.png") and (tmp_path / "out" / "portrait.png").exists()
    )
    assert saved["metrics"] == {}, "--no-metrics: no judges"
    assert list(json.loads((tmp_path / "out" / "metrics.json").read_text())) == ["history"]


def test_nan_loss_stops_cleanly_and_writes_nothing(tmp_path, tiny_net_path, style_png, monkeypatch, capsys):
    from alteredavatar.adapt.guide import StyleGuide

    nan = torch.tensor(float("nan"), requires_grad=True)
    monkeypatch.setattr(StyleGuide, "losses", lambda self, *a: (nan, nan.new_zeros(())))
    assert _run(tmp_path, tiny_net_path, "--style.image", str(style_png), "--style.guidance", "texture") == 2
    assert "nothing was written" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # the folder is created only when outputs are written


def test_wrong_files_and_output_settings_get_one_line_errors(tmp_path, tiny_net_path, style_png, capsys):
    from alteredavatar.adapt.style_file import save_style

    save_style(tmp_path / "sty", {"mappers.x": torch.zeros(2)}, {"avatar": None})
    assert (
        main(["render", "--net", str(tmp_path / "sty" / "style.safetensors"), "--out", str(tmp_path / "r")])
        == 2
    )
    (tmp_path / "sty" / "style.json").write_text("{not json")
    assert main(["apply", str(tmp_path / "sty"), "--out", str(tmp_path / "a")]) == 2
    assert (
        _run(
            tmp_path,
            tiny_net_path,
            "--style.image",
            str(style_png),
            "--style.guidance",
            "texture",
            "--output.res",
            "33",
        )
        == 2
    )
    err = capsys.readouterr().err
    assert (
        "not an avatar-network file" in err
        and "unreadable style metadata" in err
        and "--output.res must be an even size" in err
    )
    assert "Traceback" not in err


def test_mix_refuses_to_overwrite_an_input_style(tmp_path, capsys):
    from alteredavatar.adapt.style_file import save_style
    from alteredavatar.avatar.network import AvatarNet, AvatarNetConfig

    net = AvatarNet(
        AvatarNetConfig(uv_res=32, base_res=4, enc_channels=(8,) * 4, dec_channels=(8,) * 4, mapper_hidden=4)
    )
    for name in ("a", "b"):
        save_style(tmp_path / name, net.style_state(), {"avatar": None})
    before = (tmp_path / "a" / "style.safetensors").read_bytes()
    assert (
        main(["mix", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "a"), "--no-render"])
        == 2
    )
    assert "one of the input styles" in capsys.readouterr().err
    assert (tmp_path / "a" / "style.safetensors").read_bytes() == before
