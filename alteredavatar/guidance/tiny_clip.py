"""Build a tiny random CLIP (model + offline tokenizer) on disk, for tests and benchmarks."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import CLIPConfig, CLIPModel, CLIPTokenizer

BOS, EOS = "<|startoftext|>", "<|endoftext|>"
# A few common English merges so prompts tokenize to sensible word pieces; every other string
# still tokenizes into byte-level characters.
_MERGES = [
    ("t", "h"),
    ("th", "e</w>"),
    ("a", "n"),
    ("i", "n"),
    ("e", "r"),
    ("o", "n"),
    ("e", "d</w>"),
    ("in", "g</w>"),
    ("h", "e"),
    ("r", "e"),
]


def _bytes_to_unicode() -> list[str]:
    """The 256 printable stand-ins for bytes that byte-level BPE (GPT-2, CLIP) uses, in byte order."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    keep += list(range(ord("®"), ord("ÿ") + 1))
    extra = 0
    table = {}
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return [table[b] for b in range(256)]


def tiny_tokenizer() -> CLIPTokenizer:
    """A CLIP BPE tokenizer over all 256 byte symbols (+ `</w>` variants) and a handful of merges."""
    chars = _bytes_to_unicode()
    tokens = chars + [c + "</w>" for c in chars]
    tokens += [a + b for a, b in _MERGES]
    tokens += [BOS, EOS]
    vocab = {tok: i for i, tok in enumerate(dict.fromkeys(tokens))}
    return CLIPTokenizer(vocab=vocab, merges=list(_MERGES), model_max_length=77)


def make_tiny_clip(path: str | Path, seed: int = 0, image_size: int = 32, patch_size: int = 8) -> str:
    """Write a random tiny `CLIPModel` and its tokenizer to `path`; `load_clip(path)` loads it.

    Args:
        path: output directory (created).
        seed: torch seed for the random weights.
        image_size: vision input size (pixels, square).
        patch_size: vision patch size; must divide `image_size`.
    Returns:
        `str(path)`.
    """
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tok = tiny_tokenizer()
    text = dict(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        max_position_embeddings=77,
        projection_dim=32,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    vision = dict(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        image_size=image_size,
        patch_size=patch_size,
        projection_dim=32,
    )
    config = CLIPConfig(text_config=text, vision_config=vision, projection_dim=32)
    torch.manual_seed(seed)
    model = CLIPModel(config)
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return str(path)
