"""Validate a user's style prompt before it reaches the CLIP tokenizer."""

from __future__ import annotations

import unicodedata

from alteredavatar.errors import StyleInputError

MAX_PROMPT_CHARS = 1000  # longer input is almost surely a mistake (CLIP reads at most 77 tokens anyway)


def validate_prompt(text: str) -> str:
    """Return `text` stripped of surrounding whitespace, or raise `StyleInputError`.

    Empty / whitespace-only prompts, prompts over `MAX_PROMPT_CHARS` characters and prompts holding control
    characters (newlines, tabs, terminal escapes: they would be echoed raw to the terminal) are refused.
    Prompts within the limit but over CLIP's 77 tokens are truncated by the tokenizer.
    """
    if not isinstance(text, str):
        raise StyleInputError(f"the style prompt must be a string, got {type(text).__name__}")
    stripped = text.strip()
    if not stripped:
        raise StyleInputError(
            'the style prompt is empty; describe a style, e.g. --style.text "a marble statue"'
        )
    if len(stripped) > MAX_PROMPT_CHARS:
        raise StyleInputError(
            f"the style prompt is {len(stripped)} characters long; the limit is {MAX_PROMPT_CHARS} "
            "(CLIP reads only the first 77 tokens, about 50-60 words) - shorten it"
        )
    control = sorted({f"U+{ord(c):04X}" for c in stripped if unicodedata.category(c) == "Cc"})
    if control:
        raise StyleInputError(
            f"the style prompt (--style.text) holds control characters ({', '.join(control)}); "
            "write it on one line, plain text only"
        )
    return stripped
