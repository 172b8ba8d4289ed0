import numpy as np
import pytest
from PIL import Image

from alteredavatar.errors import PhotoInputError
from alteredavatar.photo.image import load_photo


def test_exif_rotation_is_applied(tmp_path):
    img = np.zeros((40, 80, 3), np.uint8)
    img[:, :40] = 255  # left half white
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to view"
    path = tmp_path / "rotated.jpg"
    Image.fromarray(img).save(path, exif=exif, quality=95)
    out, notes = load_photo(path)
    assert out.shape == (80, 40, 3)
    assert out[:20].mean() > 200 and out[-20:].mean() < 50  # the white half is now on top
    assert any("EXIF" in n for n in notes)


def test_grayscale_becomes_rgb_with_a_note(tmp_path):
    path = tmp_path / "grey.png"
    Image.fromarray(np.full((50, 60), 128, np.uint8)).save(path)
    out, notes = load_photo(path)
    assert out.shape == (50, 60, 3) and (out == 128).all()
    assert any("grayscale" in n for n in notes)


def test_huge_photos_are_downscaled(tmp_path):
    path = tmp_path / "big.png"
    Image.fromarray(np.zeros((300, 1200, 3), np.uint8)).save(path)
    out, notes = load_photo(path, max_side=400)
    assert out.shape == (100, 400, 3)
    assert any("1200x300 to 400x100" in n for n in notes)


@pytest.mark.parametrize(
    "content, match",
    [(b"hello, not an image", "not an image"), (b"\x89PNG\r\n\x1a\nbroken", "not an image|could not")],
)
def test_non_images_are_refused_in_one_line(tmp_path, content, match):
    path = tmp_path / "me.jpg"
    path.write_bytes(content)
    with pytest.raises(PhotoInputError, match=match) as err:
        load_photo(path)
    assert "\n" not in str(err.value)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(PhotoInputError, match="no such file"):
        load_photo(tmp_path / "nope.jpg")
    with pytest.raises(PhotoInputError, match="is a folder"):
        load_photo(tmp_path)
