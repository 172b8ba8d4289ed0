"""How `load_clip` gets weights: download on first use unless offline; never touches the network here."""

import functools

import pytest

import alteredavatar.guidance.clip as clip_mod
from alteredavatar.errors import AssetMissingError
from alteredavatar.guidance.clip import load_clip

UNCACHED = "nobody/no-such-clip"


@pytest.fixture(autouse=True)
def _hub_offline(monkeypatch):
    """Every test is offline unless it deletes HF_HUB_OFFLINE itself (and then stubs `from_pretrained`)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)


@pytest.fixture(autouse=True)
def _fresh_cache(monkeypatch):
    """A private lru cache per test, so loads here neither hit nor evict the session's cached backends."""
    monkeypatch.setattr(
        clip_mod, "_load_cached", functools.lru_cache(maxsize=4)(clip_mod._load_cached.__wrapped__)
    )


@pytest.fixture
def online(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)


def record_model_loads(monkeypatch, error: BaseException | None = None, redirect: str | None = None) -> list:
    """Replace `CLIPModel.from_pretrained` (as `clip.py` sees it) by a wrapper recording `local_files_only`;
    it raises `error` if given, else calls the real loader (on `redirect` instead of the id, if given)."""
    calls = []
    real = clip_mod.CLIPModel.from_pretrained

    def wrapper(name, *args, **kwargs):
        calls.append(kwargs.get("local_files_only"))
        if error is not None:
            raise error
        return real(redirect or name, *args, **kwargs)

    monkeypatch.setattr(clip_mod.CLIPModel, "from_pretrained", wrapper)
    return calls


def test_env_offline_uncached_hub_id_never_downloads(monkeypatch):
    calls = record_model_loads(monkeypatch)
    with pytest.raises(AssetMissingError) as info:
        load_clip(UNCACHED)
    assert calls == [True]
    msg = str(info.value)
    assert "HF_HUB_OFFLINE=1" in msg and "--style.offline" in msg and "--style.clip DIR" in msg
    assert "huggingface" in msg and "internet" in msg and " --clip" not in msg


def test_online_goes_to_download_and_failure_says_what_to_do(monkeypatch, online):
    calls = record_model_loads(monkeypatch, error=OSError("We couldn't connect to 'https://huggingface.co'"))
    with pytest.raises(AssetMissingError) as info:
        load_clip(UNCACHED, offline=False)
    assert calls == [False]
    msg = str(info.value)
    assert "--style.clip DIR" in msg and "could not be downloaded" in msg and "couldn't connect" in msg
    assert "offline mode is on" not in msg and " --clip" not in msg
    assert isinstance(info.value.__cause__, OSError)


def test_online_non_oserror_network_failure_is_asset_missing(monkeypatch, online):
    net_error = type("ConnectError", (Exception,), {"__module__": "httpx2"})
    calls = record_model_loads(monkeypatch, error=net_error("connection refused"))
    with pytest.raises(AssetMissingError, match=r"--style.clip"):
        load_clip(UNCACHED)
    assert calls == [False]


def test_unrelated_errors_are_not_disguised(monkeypatch, online):
    record_model_loads(monkeypatch, error=RuntimeError("bug"))
    with pytest.raises(RuntimeError, match="bug"):
        load_clip(UNCACHED)


def test_offline_argument_forbids_download(monkeypatch, online):
    calls = record_model_loads(monkeypatch, error=OSError("not in cache"))
    with pytest.raises(AssetMissingError) as info:
        load_clip(UNCACHED, offline=True)
    assert calls == [True]
    assert "--style.offline" in str(info.value) and "--style.clip DIR" in str(info.value)


@pytest.mark.parametrize(
    ("value", "offline"),
    [("1", True), ("TRUE", True), ("Yes", True), ("on", True), ("0", False), ("false", False), ("", False)],
)
def test_hf_hub_offline_values_read_at_call_time(monkeypatch, value, offline):
    monkeypatch.setenv("HF_HUB_OFFLINE", value)
    calls = record_model_loads(monkeypatch, error=OSError("stub: no network in tests"))
    with pytest.raises(AssetMissingError):
        load_clip(UNCACHED)
    assert calls == [offline]


def test_env_offline_wins_over_offline_false(monkeypatch):
    calls = record_model_loads(monkeypatch, error=OSError("not in cache"))
    with pytest.raises(AssetMissingError, match="HF_HUB_OFFLINE"):
        load_clip(UNCACHED, offline=False)
    assert calls == [True]


def test_local_dir_loads_offline_and_never_downloads(monkeypatch, tiny_clip_dir, online):
    calls = record_model_loads(monkeypatch)
    clip = load_clip(tiny_clip_dir, offline=True)
    assert clip.embed_dim == 32 and calls == [True]
    assert load_clip(tiny_clip_dir, offline=False) is clip  # a directory ignores the flag: one cache entry
    assert load_clip(tiny_clip_dir) is clip and calls == [True]


def test_offline_flag_is_part_of_the_cache_key(monkeypatch, tiny_clip_dir, online):
    calls = record_model_loads(monkeypatch, redirect=tiny_clip_dir)
    real_tok = clip_mod.CLIPTokenizer.from_pretrained
    monkeypatch.setattr(
        clip_mod.CLIPTokenizer, "from_pretrained", lambda name, *a, **kw: real_tok(tiny_clip_dir, *a, **kw)
    )
    a = load_clip("some/hub-id", offline=True)
    b = load_clip("some/hub-id", offline=False)
    assert a is not b and calls == [True, False]
    assert load_clip("some/hub-id", offline=True) is a and load_clip("some/hub-id") is b
    assert a.model_id == "some/hub-id" and calls == [True, False]
