"""VGG style guidance: masked statistics, the style pulls renders toward the style image, judges."""

import pytest
import torch

from alteredavatar.errors import ConfigError, StyleInputError
from alteredavatar.guidance.perceptual import (
    VggConfig,
    VggGuidance,
    gram_distance,
    luminance_pattern,
    masked_gram,
)


def stripes(n: int = 64, period: int = 8) -> torch.Tensor:
    x = torch.arange(n)
    on = ((x // (period // 2)) % 2 == 0).float().expand(n, n)
    return torch.stack([on, 0.2 * torch.ones_like(on), 1 - on])


def test_masked_gram_equals_the_gram_of_the_foreground_columns():
    f = torch.randn(2, 5, 6, 7)
    mask = torch.zeros(2, 1, 6, 7)
    mask[0, :, 1:4, 2:6] = 1
    mask[1, :, :, :3] = 1
    g = masked_gram(f, mask)
    for b in range(2):
        cols = f[b].flatten(1)[:, mask[b, 0].flatten() > 0]
        torch.testing.assert_close(g[b], cols @ cols.T / cols.shape[1])
    f2 = f.clone()
    f2[mask.expand_as(f) == 0] = 100.0  # background features do not count
    torch.testing.assert_close(masked_gram(f2, mask), g)


@pytest.mark.parametrize("statistic", ["gram", "sw", "nnfm"])
def test_style_loss_falls_when_pixels_follow_it(vgg, statistic):
    guide = VggGuidance(stripes(), render_res=48, cfg=VggConfig(statistic=statistic), vgg=vgg)
    gen = torch.Generator().manual_seed(0)
    pixels = torch.full((1, 3, 48, 48), 0.5).requires_grad_(True)
    mask = torch.ones(1, 1, 48, 48)
    opt = torch.optim.Adam([pixels], lr=0.03)
    losses = []
    for _ in range(25):
        style, _ = guide.losses(pixels.clamp(0, 1), pixels.detach(), mask, gen)
        opt.zero_grad()
        style.backward()
        opt.step()
        losses.append(style.item())
    assert losses[-1] < 0.5 * losses[0]


def test_gram_term_adds_to_nnfm_and_is_zero_for_the_style_itself(vgg):
    """The default statistic is NNFM plus a weighted Gram term: the term adds exactly weight x Gram
    distance."""
    gen = torch.Generator
    mask = torch.ones(1, 1, 48, 48)
    grey = torch.full((1, 3, 48, 48), 0.5)
    style = stripes(48)[None]
    by_weight = {}
    for w in (0.0, 0.3):
        guide = VggGuidance(
            stripes(48), render_res=48, cfg=VggConfig(gram_weight=w, color_weight=0.0), vgg=vgg
        )
        by_weight[w] = [guide.losses(x, x, mask, gen().manual_seed(0))[0].item() for x in (grey, style)]
    gram = VggGuidance(stripes(48), render_res=48, cfg=VggConfig(statistic="gram", color_weight=0.0), vgg=vgg)
    g_grey = gram.losses(grey, grey, mask, gen().manual_seed(0))[0].item()
    assert by_weight[0.3][0] == pytest.approx(by_weight[0.0][0] + 0.3 * g_grey, rel=1e-4)
    assert by_weight[0.3][1] == pytest.approx(by_weight[0.0][1], abs=1e-4), "the style image has its own Gram"


def test_background_outside_the_mask_gets_no_gradient_from_the_colour_term(vgg):
    guide = VggGuidance(stripes(), render_res=32, cfg=VggConfig(style_layers=("relu1_1",)), vgg=vgg)
    img = torch.rand(1, 3, 32, 32, requires_grad=True)
    mask = torch.zeros(1, 1, 32, 32)
    mask[..., 8:24, 8:24] = 1
    style, _ = guide.losses(img, img.detach(), mask, torch.Generator().manual_seed(0))
    style.backward()
    far = img.grad[..., :3, :3].abs().sum()  # beyond relu1_1's 3x3 receptive field of any foreground pixel
    assert far == 0 and img.grad[..., 8:24, 8:24].abs().sum() > 0


def test_content_term_is_zero_for_the_source_and_grows_with_change(vgg):
    guide = VggGuidance(stripes(), render_res=32, vgg=vgg)
    src = torch.rand(1, 3, 32, 32)
    mask = torch.ones(1, 1, 32, 32)
    gen = torch.Generator().manual_seed(0)
    _, same = guide.losses(src, src, mask, gen)
    _, small = guide.losses((src + 0.05).clamp(0, 1), src, mask, gen)
    _, large = guide.losses(1 - src, src, mask, gen)
    assert same.item() == pytest.approx(0.0, abs=1e-6) and 0 < small < large


def test_gram_judge_prefers_the_pattern_over_a_tint(vgg):
    style = stripes(128)
    mask = torch.ones(1, 1, 128, 128)
    tint = style.mean((1, 2), keepdim=True).expand(3, 128, 128)[None]  # the style's mean colour, no pattern
    pattern = torch.roll(style, 2, dims=-1)[None]
    for pat in (False, True):
        d_tint, d_pat = gram_distance(
            torch.cat([tint, pattern]), mask.expand(2, -1, -1, -1), style, pattern=pat, vgg=vgg
        )
        assert d_pat < 0.25 * d_tint


def test_luminance_pattern_removes_the_palette():
    a = stripes(32)[None]
    b = a * torch.tensor([0.3, 1.0, 0.6]).view(1, 3, 1, 1) + 0.1
    la, lb = luminance_pattern(a), luminance_pattern(b)
    assert (la - lb).abs().max() < 0.05


def test_pattern_judge_sees_a_faint_pattern_as_the_pattern_not_its_silhouette(vgg):
    # A stylized face can be low-contrast: normalising its luminance must not blow up the face/background
    # step (the judge once scored a faint copy of the style 100x worse than a strong one).
    style = stripes(128)
    mask = torch.zeros(1, 1, 128, 128)
    mask[..., 24:104, 24:104] = 1
    strong = style[None] * mask  # the style's pattern on the foreground, black background
    faint = (0.5 + 0.01 * (style[None] - 0.5)) * mask
    d_strong, d_faint = gram_distance(
        torch.cat([strong, faint]), mask.expand(2, -1, -1, -1), style, pattern=True, vgg=vgg
    )
    assert d_faint < 1.5 * d_strong
    assert luminance_pattern(faint, mask)[..., :8, :8].eq(0.5).all()  # background: the neutral mean


def test_bad_settings_and_images_are_refused(vgg):
    with pytest.raises(ConfigError, match="relu9_1"):
        VggConfig(style_layers=("relu9_1",))
    with pytest.raises(ConfigError, match="style-scale"):
        VggConfig(style_scale=0)
    with pytest.raises(StyleInputError):
        VggGuidance(torch.rand(3, 4, 4), render_res=32, vgg=vgg)


def test_foreground_window_holds_every_foreground_pixel():
    from alteredavatar.guidance.perceptual import crop, foreground_window

    mask = torch.zeros(3, 1, 64, 64)
    mask[0, :, 5:20, 40:60] = 1
    mask[1, :, 30:62, 10:30] = 1  # the tallest: sets the window height
    window = foreground_window(mask, margin=4, multiple=8)
    cropped = crop(mask, window)
    assert cropped.shape[-2:] == (40, 32)  # (32 + 8) rows, (20 + 8 -> 32) columns
    assert torch.equal(cropped.flatten(1).sum(1), mask.flatten(1).sum(1))  # image 2 (empty) keeps its zero
