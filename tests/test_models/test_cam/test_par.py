"""PAR (spec 2.2): affinity against an explicit-loop restatement, convexity, sharpening along an image edge."""
import math
import statistics

import pytest
import torch

from mmwsss.models.cam.par import PAR


def _loop_affinity(img, dilations, w1, w2):
    """Affinity of every pixel with explicit loops: list over (b, y, x) of the per-neighbour weights."""
    b, c, h, w = img.shape
    offsets, dists = [], []
    for d in dilations:
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                if (dy, dx) != (0, 0):
                    offsets.append((dy * d, dx * d))
                    dists.append(d * math.sqrt(2) if dy and dx else d)
    dist_std = statistics.stdev(dists)
    pos_logits = [-(di / (dist_std + 1e-8) / w1) ** 2 for di in dists]
    pos_soft = [math.exp(p) / sum(math.exp(q) for q in pos_logits) for p in pos_logits]
    out = {}
    for bi in range(b):
        for y in range(h):
            for x in range(w):
                coords = [(min(max(y + oy, 0), h - 1), min(max(x + ox, 0), w - 1)) for oy, ox in offsets]
                logits = [0.0] * len(offsets)
                for ch in range(c):
                    centre = float(img[bi, ch, y, x])
                    vals = [float(img[bi, ch, yy, xx]) for yy, xx in coords]
                    sigma = statistics.stdev(vals)
                    for n, v in enumerate(vals):
                        logits[n] += -(abs(v - centre) / (sigma + 1e-8) / w1) ** 2 / c
                top = max(logits)
                z = sum(math.exp(lg - top) for lg in logits)
                out[bi, y, x] = ([(math.exp(lg - top) / z + w2 * ps) / (1 + w2) for lg, ps in zip(logits, pos_soft)],
                                 coords)
    return out


@pytest.mark.parametrize('dilations', [(1,), (1, 3)])
def test_affinity_and_one_step_match_explicit_loops(dilations):
    torch.manual_seed(0)
    img = torch.rand(1, 3, 4, 5)
    masks = torch.rand(1, 2, 4, 5)
    par = PAR(num_iter=1, dilations=dilations)
    expected = _loop_affinity(img, dilations, par.w1, par.w2)
    aff = par.affinity(img)
    assert aff.shape == (1, 8 * len(dilations), 4, 5)
    out = par(img, masks)
    for (bi, y, x), (weights, coords) in expected.items():
        assert torch.allclose(aff[bi, :, y, x], torch.tensor(weights), atol=1e-5)
        for ch in range(2):
            ref = sum(wt * float(masks[bi, ch, yy, xx]) for wt, (yy, xx) in zip(weights, coords))
            assert abs(float(out[bi, ch, y, x]) - ref) < 1e-5


def test_refinement_is_convex_and_keeps_constants():
    torch.manual_seed(1)
    img = torch.rand(2, 3, 12, 10)
    par = PAR(num_iter=10, dilations=(1, 2, 4))
    aff = par.affinity(img)
    assert torch.allclose(aff.sum(dim=1), torch.ones(2, 12, 10), atol=1e-5)
    assert (aff > 0).all()
    masks = torch.rand(2, 4, 12, 10).softmax(dim=1)
    out = par(img, masks)
    assert out.shape == masks.shape
    assert torch.allclose(out.sum(dim=1), torch.ones(2, 12, 10), atol=1e-5)
    const = torch.full((2, 3, 12, 10), 0.3)
    assert torch.allclose(par(img, const), const, atol=1e-5)


def test_dilations_larger_than_image_and_image_scale_invariance():
    torch.manual_seed(2)
    img = torch.rand(1, 3, 6, 6)
    par = PAR(num_iter=3)  # default dilations up to 24 on a 6x6 image: replicate padding clamps
    assert par.num_neighbours == 48
    aff = par.affinity(img)
    assert torch.isfinite(aff).all()
    # |I_j - I_i| / sigma_i: the same affinity for [0, 1], [0, 255] and normalised images
    assert torch.allclose(par.affinity(img * 255), aff, atol=1e-5)
    assert torch.allclose(par.affinity((img - 0.5) / 0.2), aff, atol=1e-5)
    # an isolated bright pixel among identical neighbours (sigma = 0) stays finite even in [0, 255]
    spot = torch.zeros(1, 3, 6, 6)
    spot[..., 3, 3] = 255
    assert torch.isfinite(par.affinity(spot)).all()


def test_refinement_sharpens_a_blurred_mask_along_an_image_edge():
    h, w, edge = 16, 16, 8
    cols = torch.arange(w, dtype=torch.float32)
    fg = torch.sigmoid((cols - edge + 0.5) / 2.0).expand(1, 1, h, w)  # soft ramp across the edge
    masks = torch.cat([1 - fg, fg], dim=1)
    step = (cols >= edge).float().expand(1, 1, h, w)
    edge_img = step.expand(1, 3, h, w) * 0.8 + 0.1
    flat_img = torch.full((1, 3, h, w), 0.5)
    par = PAR(num_iter=10, dilations=(1, 2, 4))

    def contrast(m):
        return float(m[0, 1, :, edge].mean() - m[0, 1, :, edge - 1].mean())

    sharp = par(edge_img, masks)
    blurred = par(flat_img, masks)
    assert contrast(sharp) > contrast(masks) + 0.1
    assert contrast(blurred) < contrast(masks)
    assert (sharp[0, 1] - step[0, 0]).abs().mean() < (masks[0, 1] - step[0, 0]).abs().mean()


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError):
        PAR()(torch.rand(1, 3, 8, 8), torch.rand(1, 2, 4, 4))
