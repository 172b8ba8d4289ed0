import numpy as np
import pytest
import torch
from PIL import Image

from alteredavatar.errors import StyleInputError
from alteredavatar.guidance.images import image_sha256, load_style_image


def _save(path, arr, **kw):
    Image.fromarray(arr).save(path, **kw)
    return path


def test_loads_rgb_resized_square(tmp_path):
    arr = np.random.default_rng(0).integers(0, 255, (30, 50, 3), dtype=np.uint8)
    img = load_style_image(_save(tmp_path / "s.png", arr), size=64)
    assert img.shape == (3, 64, 64) and img.dtype == torch.float32
    assert img.min() >= 0.0 and img.max() <= 1.0


def test_alpha_composited_over_white_and_grey_expanded(tmp_path):
    rgba = np.zeros((16, 16, 4), dtype=np.uint8)  # black, transparent but for the top half
    rgba[:8, :, 3] = 255
    img = load_style_image(_save(tmp_path / "a.png", rgba), size=16)
    assert torch.allclose(img[:, :8], torch.zeros_like(img[:, :8]), atol=0.02)
    assert torch.allclose(img[:, 9:], torch.ones_like(img[:, 9:]), atol=0.02)
    grey = load_style_image(_save(tmp_path / "g.png", np.full((12, 12), 128, dtype=np.uint8)), size=12)
    assert grey.shape == (3, 12, 12)


def test_fully_transparent_image_is_refused(tmp_path):
    """It used to become a flat white style without a word."""
    with pytest.raises(StyleInputError, match="fully transparent"):
        load_style_image(_save(tmp_path / "clear.png", np.zeros((16, 16, 4), dtype=np.uint8)))


def test_animated_gif_uses_first_frame(tmp_path):
    frames = [Image.new("RGB", (16, 16), c) for c in [(255, 0, 0), (0, 0, 255)]]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50, loop=0)
    img = load_style_image(path, size=16)
    assert img[0].mean() > 0.9 and img[2].mean() < 0.1


def test_missing_file(tmp_path):
    with pytest.raises(StyleInputError, match="not found"):
        load_style_image(tmp_path / "nope.png")
    with pytest.raises(StyleInputError, match="not a file"):
        load_style_image(tmp_path)


def test_text_file_named_png(tmp_path):
    path = tmp_path / "fake.png"
    path.write_text("definitely not a picture")
    with pytest.raises(StyleInputError, match="not an image"):
        load_style_image(path)


def test_truncated_png(tmp_path):
    arr = np.random.default_rng(1).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    path = _save(tmp_path / "full.png", arr)
    data = path.read_bytes()
    cut = tmp_path / "cut.png"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(StyleInputError, match="corrupt or truncated"):
        load_style_image(cut)


def test_tiny_image(tmp_path):
    with pytest.raises(StyleInputError, match="at least 8x8"):
        load_style_image(_save(tmp_path / "px.png", np.zeros((1, 1, 3), dtype=np.uint8)))


def test_sha256(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(b"abc")
    assert image_sha256(path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    with pytest.raises(StyleInputError):
        image_sha256(tmp_path / "missing.png")
