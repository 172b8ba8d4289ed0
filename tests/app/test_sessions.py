"""Uploads are checked by content and land only inside the session's folder: a .glb alone, or a .gltf with the
files its URIs name; page messages name the page's fields."""

import json
import shutil

import pytest

from alteredavatar.app.sessions import (
    accept_avatar,
    accept_glb,
    accept_style_image,
    end_session,
    first_line,
    session_dir,
)
from alteredavatar.errors import AlteredAvatarError, ConfigError


def test_uploads_are_checked_by_content_and_kept_in_the_session(tmp_path):
    folder = session_dir(tmp_path, "abc123")
    fake = tmp_path / "..%2F..%2Fx.glb"
    fake.write_bytes(b"PK\x03\x04 not a model")
    for accept in (accept_glb, accept_style_image):
        with pytest.raises(AlteredAvatarError):
            accept(fake, folder, 1000)
    with pytest.raises(AlteredAvatarError, match="limit"):
        accept_glb(fake, folder, 4)
    with pytest.raises(AlteredAvatarError):
        session_dir(tmp_path, "../etc")
    assert all(p.is_relative_to(folder) for p in tmp_path.rglob("*") if p != fake and p.name != "sessions")
    end_session(tmp_path, "abc123")
    assert not folder.exists()


def test_gltf_with_its_files_lands_where_its_uris_say(gltf_head, tmp_path):
    folder = session_dir(tmp_path, "s1")
    model = accept_avatar([str(p) for p in reversed(gltf_head)], folder, 50_000_000)
    assert model.name == "avatar.gltf" and model.is_relative_to(folder)
    assert (model.parent / "bin data" / "head.bin").read_bytes() == gltf_head[1].read_bytes()
    assert (model.parent / "skin0.png").is_file()


def test_gltf_missing_or_escaping_files_are_refused(gltf_head, tmp_path):
    folder = session_dir(tmp_path, "s2")
    with pytest.raises(AlteredAvatarError, match=r"head\.bin, which is not in the upload"):
        accept_avatar([gltf_head[0], gltf_head[2]], folder, 50_000_000)
    evil = tmp_path / "evil"
    evil.mkdir()
    doc = json.loads(gltf_head[0].read_text())
    for uri in ("../../../etc/passwd", "/etc/passwd", "file:///etc/passwd", "bin%20data/../../x.bin"):
        doc["buffers"][0]["uri"] = uri
        (evil / "head.gltf").write_text(json.dumps(doc))
        shutil.copyfile(gltf_head[1], evil / "passwd")
        with pytest.raises(AlteredAvatarError, match="not a file beside it"):
            accept_avatar([evil / "head.gltf", evil / "passwd"], folder, 50_000_000)
    assert not (tmp_path / "etc").exists() and not list(tmp_path.glob("**/x.bin"))
    with pytest.raises(ConfigError, match=r"one \.glb, or one \.gltf"):
        accept_avatar([gltf_head[1]], folder, 50_000_000)
    with pytest.raises(ConfigError, match="limit"):
        accept_avatar(gltf_head, folder, 1000)


def test_messages_name_the_page_fields_and_keep_other_flags():
    msg = first_line(ConfigError("--adapt.seed must be in [0, 9], got -1\nrun with --help"))
    assert msg == '"Seed" must be in [0, 9], got -1'
    assert first_line(ConfigError("--t must be in [0, 1]")) == '"Mix t" must be in [0, 1]'
    assert first_line(ConfigError("try a lower --adapt.lr")) == "try a lower --adapt.lr", "a real app flag"
