import pytest
import torch

from alteredavatar.errors import ConfigError, StyleInputError
from alteredavatar.guidance.augment import AugmentConfig
from alteredavatar.guidance.clip_losses import ClipGuidance, ClipGuidanceConfig, validate_prompt

from .conftest import stripes

CFG = ClipGuidanceConfig(augment=AugmentConfig(n_crops=4, size=32))


def _optimize(guidance: ClipGuidance, steps: int = 20) -> tuple[float, float]:
    """Adam on a (1, 3, 64, 64) image; returns the loss before/after under one fixed augmentation."""
    torch.manual_seed(0)
    source = torch.rand(1, 3, 64, 64) * 0.5 + 0.25
    logits = torch.logit(source).clone().requires_grad_(True)
    opt = torch.optim.Adam([logits], lr=0.05)

    def fixed_loss() -> float:
        with torch.no_grad():
            return guidance.loss(torch.sigmoid(logits), source, torch.Generator().manual_seed(123)).item()

    start = fixed_loss()
    gen = torch.Generator().manual_seed(1)
    for _ in range(steps):
        opt.zero_grad()
        guidance.loss(torch.sigmoid(logits), source, gen).backward()
        opt.step()
    return start, fixed_loss()


@pytest.mark.parametrize("style", ["text", "image", "mix"])
def test_optimizing_pixels_lowers_loss(backend, style):
    kw = {
        "text": dict(text="a marble statue"),
        "image": dict(image=stripes()),
        "mix": dict(text="a marble statue", image=stripes(), mix=0.5),
    }[style]
    start, end = _optimize(ClipGuidance(backend, cfg=CFG, **kw))
    assert end < 0.9 * start, (start, end)


def test_directional_gradient_finite_when_styled_equals_source(backend):
    guidance = ClipGuidance(backend, text="a marble statue", cfg=CFG)
    source = torch.rand(2, 3, 48, 48)
    styled = source.clone().requires_grad_(True)
    loss = guidance.loss(styled, source, torch.Generator().manual_seed(0))
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(styled.grad).all() and styled.grad.abs().sum() > 0


def test_mix_endpoints_match_single_targets(backend):
    image, source = stripes(), torch.rand(1, 3, 64, 64)
    styled = torch.rand(1, 3, 64, 64)
    both0 = ClipGuidance(backend, text="a marble statue", image=image, mix=0.0, cfg=CFG)
    text = ClipGuidance(backend, text="a marble statue", cfg=CFG)
    both1 = ClipGuidance(backend, text="a marble statue", image=image, mix=1.0, cfg=CFG)
    only_image = ClipGuidance(backend, image=image, cfg=CFG)
    g = lambda: torch.Generator().manual_seed(4)  # noqa: E731
    assert torch.allclose(both0.loss(styled, source, g()), text.loss(styled, source, g()))
    assert torch.allclose(both1.loss(styled, source, g()), only_image.loss(styled, None, g()))


def test_needs_a_target_and_valid_mix(backend):
    with pytest.raises(StyleInputError):
        ClipGuidance(backend, cfg=CFG)
    with pytest.raises(ConfigError):
        ClipGuidance(backend, text="a marble statue", mix=1.5, cfg=CFG)
    with pytest.raises(StyleInputError):
        ClipGuidance(backend, image=torch.rand(4, 8, 8), cfg=CFG)


@pytest.mark.parametrize("bad", ["", "  \t\n", "a" * 1001, "a \x1b[31mred\x1b[0m statue", "two\nlines"])
def test_prompt_validation(backend, bad):
    with pytest.raises(StyleInputError):
        validate_prompt(bad)
    with pytest.raises(StyleInputError):
        ClipGuidance(backend, text=bad, cfg=CFG)


def test_control_characters_are_named_not_echoed():
    with pytest.raises(StyleInputError, match="U\\+001B") as err:
        validate_prompt("a \x1b]0;pwned\x07 statue")
    assert "\x1b" not in str(err.value) and "--style.text" in str(err.value)
    assert validate_prompt("a statue of ✨ light 🦋") == "a statue of ✨ light 🦋"  # unicode is fine


def test_prompt_at_limit_is_accepted_and_stripped(backend):
    assert validate_prompt("  a marble statue \n") == "a marble statue"
    long = "a marble statue " * 62  # 992 characters, far beyond 77 tokens: truncated, not refused
    ClipGuidance(backend, text=long[:1000], cfg=CFG)
