"""Device choice: CPU by default, CUDA when present, never required; the CUDA half runs only where a GPU
is."""

import json
from pathlib import Path

import pytest
import torch

import alteredavatar.adapt.run as adapt_run
from alteredavatar.adapt.guide import StyleSpec
from alteredavatar.adapt.loop import AdaptConfig
from alteredavatar.adapt.run import StylizeJob
from alteredavatar.adapt.style_file import load_style
from alteredavatar.avatar.pretrained import load_avatar_net
from alteredavatar.cli import main
from alteredavatar.device import resolve_device
from alteredavatar.errors import ConfigError
from alteredavatar.export.media import to_uint8, write_png
from alteredavatar.export.outputs import OutputConfig
from alteredavatar.guidance.procedural import procedural_style

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
FAST = [
    "--adapt.steps",
    "3",
    "--adapt.batch",
    "2",
    "--adapt.res",
    "48",
    "--output.frames",
    "2",
    "--output.res",
    "32",
    "--output.ssaa",
    "1",
]


def test_auto_is_the_cpu_without_a_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device(" CPU ") == torch.device("cpu")


@pytest.mark.parametrize(
    "spec, words",
    [("mps", "not supported"), ("tpu", "unknown device"), ("gpu0", "unknown device"), ("cuda:x", "unknown")],
)
def test_bad_device_names_are_config_errors(spec, words):
    with pytest.raises(ConfigError, match=words):
        resolve_device(spec)


def test_asking_for_cuda_without_one_says_so(monkeypatch, tmp_path, tiny_net_path, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="sees no CUDA GPU"):
        resolve_device("cuda")
    style = tmp_path / "s.png"
    write_png(to_uint8(procedural_style("dots", 0, 32)[None])[0], style)
    rc = main(
        [
            "stylize",
            "--net",
            str(tiny_net_path),
            "--out",
            str(tmp_path / "out"),
            "--style.image",
            str(style),
            "--style.guidance",
            "texture",
            "--device",
            "cuda",
            *FAST,
        ]
    )
    assert rc != 0 and "sees no CUDA GPU" in capsys.readouterr().err
    assert not (tmp_path / "out" / "style.safetensors").exists()


def _stylize(tmp_path, net, style, device, monkeypatch):
    """Stylize 3 steps on `device` (the video is skipped: encoding is tested elsewhere, a GPU box may lack
    ffmpeg)."""
    import alteredavatar.export.outputs as outputs

    monkeypatch.setattr(outputs, "write_mp4", lambda frames, path, fps=24: Path(path).write_bytes(b"skipped"))
    out = tmp_path / device.replace(":", "")
    job = StylizeJob(
        style=StyleSpec(image=style, guidance="texture"),
        out=out,
        init="unstylized",
        net=net,
        adapt=AdaptConfig(steps=3, batch=2, res=48),
        output=OutputConfig(frames=2, res=32, ssaa=1),
        device=device,
    )
    meta = adapt_run.run_stylize(job, progress=False)
    history = json.loads((out / "metrics.json").read_text())["history"]
    return load_style(out)[0], meta, [h["loss"] for h in history]


@cuda
def test_stylize_on_cuda_matches_the_cpu(tmp_path, tiny_net_path, monkeypatch):
    """Same seed, same sampled views: the GPU run lands where the CPU run does (float tolerance)."""
    style = tmp_path / "s.png"
    write_png(to_uint8(procedural_style("mosaic", 0, 64)[None])[0], style)
    cpu, meta_cpu, loss_cpu = _stylize(tmp_path, tiny_net_path, style, "cpu", monkeypatch)
    gpu, meta_gpu, loss_gpu = _stylize(tmp_path, tiny_net_path, style, "cuda", monkeypatch)
    assert meta_gpu["device"].startswith("cuda") and meta_cpu["device"] == "cpu"
    assert all(v.device.type == "cpu" for v in gpu.values()), "style files hold CPU tensors"
    assert loss_gpu == pytest.approx(loss_cpu, rel=2e-3, abs=1e-5)
    for name in cpu:
        torch.testing.assert_close(gpu[name], cpu[name], atol=2e-3, rtol=1e-2)


@cuda
def test_meta_train_on_cuda_matches_the_cpu(tmp_path, tiny_net_path):
    from meta.test_avatar_meta import TINY_RUN

    cfg = tmp_path / "run.yaml"
    cfg.write_text(TINY_RUN)
    inits = {}
    for device in ("cpu", "cuda"):
        out = tmp_path / device
        assert (
            main(["meta-train", str(cfg), "--out", str(out), "--net", str(tiny_net_path), "--device", device])
            == 0
        )
        inits[device], meta = load_style(out / "init.safetensors")
        assert meta["segments"] == [
            {"from_step": 0, "world_size": 1, "device": meta["segments"][0]["device"]}
        ]
        assert meta["segments"][0]["device"].startswith(device)
    # Compare the learned moves, not single elements: Adam normalises a near-zero gradient to a full step, so
    # float noise can flip the odd element's sign on one device (seen on an H200: 1 of 576 off by one step).
    start = load_avatar_net(tiny_net_path).style_state()
    moved = lambda d: torch.cat([(inits[d][n] - start[n]).flatten() for n in start])  # noqa: E731
    gap = (moved("cuda") - moved("cpu")).norm() / moved("cpu").norm()
    assert moved("cpu").norm() > 0 and gap < 0.05, (
        f"CUDA and CPU meta-training moved apart (relative gap {gap:.3f})"
    )
