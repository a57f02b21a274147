"""MSFC's SMCM (mmwsss/models/contrast/smcm.py): view construction, inverse mappings, masking, a real gradient."""
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmseg.registry import MODELS

from fixtures.contexts import make_context
from mmwsss.models.contrast.smcm import (SpatialMultiViewContrast, make_spatial_views, normalise_view_cam,
                                         stitch_quadrants, views_to_main_frame)


def _ctx(inputs, cam, img_labels, img_boxes=None, cam_fn=None, aux_cam=None):
    return make_context(inputs, cam, img_labels, img_boxes, aux_cam=aux_cam, cam_fn=cam_fn)


def _smooth(b, c, h, w):
    """Low-frequency, position-dependent synthetic maps (no symmetry that would hide a wrong mapping)."""
    ys = torch.linspace(0, 1, h)[:, None]
    xs = torch.linspace(0, 1, w)[None, :]
    maps = [torch.sin(math.pi * (0.7 + 0.3 * i) * ys) * torch.cos(0.5 * math.pi * xs) + 0.4 * xs * ys
            + 0.1 * i + 0.2 * j for j in range(b) for i in range(c)]
    return torch.stack(maps).view(b, c, h, w)


# ------------------------------------------------------------------ inverse mappings
def test_views_and_inverse_mappings_recover_synthetic_cam():
    cam = torch.randn(2, 3, 8, 10)
    views = make_spatial_views(cam)
    assert views['rot'].shape == cam.shape and views['scale'].shape == (2, 3, 4, 5)
    assert [tuple(q.shape) for q in views['quad']] == [(2, 3, 4, 5)] * 4
    # the views are what they claim: rot180 and the quadrant order TL, TR, BL, BR
    assert torch.equal(views['rot'][..., 0, 0], cam[..., -1, -1])
    assert torch.equal(views['quad'][1][..., 0, 0], cam[..., 0, 5])
    assert torch.equal(views['quad'][2][..., 0, 0], cam[..., 4, 0])
    mapped = views_to_main_frame({'rot': views['rot'], 'quad': views['quad']}, (8, 10))
    assert torch.equal(mapped['rot'], cam)
    assert torch.equal(mapped['quad'], cam)


def test_quadrant_stitch_order_and_grid_cams():
    """Quadrant CAMs on a coarser grid than the crop are stitched on their grid, then resized to the main size."""
    tl, tr, bl, br = (torch.full((1, 1, 2, 2), float(v)) for v in (1, 2, 3, 4))
    st = stitch_quadrants((tl, tr, bl, br))
    assert st[0, 0].tolist() == [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]
    grid = torch.randn(1, 2, 6, 6)  # CAM of the main view on its token grid
    quads = make_spatial_views(grid)['quad']
    assert torch.equal(views_to_main_frame({'quad': quads}, (6, 6))['quad'], grid)
    assert torch.allclose(views_to_main_frame({'quad': quads}, (12, 12))['quad'],
                          F.interpolate(grid, size=(12, 12), mode='bilinear', align_corners=False))
    with pytest.raises(ValueError, match='share one shape'):
        stitch_quadrants((tl, tr, bl, torch.zeros(1, 1, 3, 2)))


def test_odd_sizes_raise():
    with pytest.raises(ValueError, match='even crop size'):
        make_spatial_views(torch.zeros(1, 3, 7, 8))
    with pytest.raises(ValueError, match='even crop size'):
        make_spatial_views(torch.zeros(1, 3, 8, 9))


def test_downscale_upscale_within_tolerance():
    cam = _smooth(1, 2, 32, 32)
    views = make_spatial_views(cam, scale_factor=0.5)
    back = views_to_main_frame({'scale': views['scale']}, (32, 32))['scale']
    assert back.shape == cam.shape
    assert (back - cam).abs().max() < 0.06
    assert (back - cam).abs().mean() < 0.01


# ------------------------------------------------------------------ loss
def _identity_cam_fn(k):
    """CAM = first k channels of the input: exactly equivariant to rotation and cropping."""
    return lambda x: (x[:, :k], None)


def test_exact_mapping_gives_zero_loss_and_wrong_one_does_not():
    x = _smooth(2, 3, 16, 16)
    target = normalise_view_cam(x[:, :2])
    labels = torch.ones(2, 2)
    exact = SpatialMultiViewContrast(scale_factor=1.0)(_ctx(x, target, labels, cam_fn=_identity_cam_fn(2)))
    assert exact['loss_smcm'].item() < 1e-6
    approx = SpatialMultiViewContrast()(_ctx(x, target, labels, cam_fn=_identity_cam_fn(2)))  # scale 0.5
    assert 0 < approx['loss_smcm'].item() < 0.1 * 0.01
    # a CAM function that is not rotation/crop equivariant is penalised far more
    ramp = torch.linspace(0, 1, 16)[None, None, :, None]

    def biased(x):
        return x[:, :2] + 2 * ramp[..., :x.shape[-2], :]

    wrong = SpatialMultiViewContrast(scale_factor=1.0)(_ctx(x, target, labels, cam_fn=biased))
    assert wrong['loss_smcm'].item() > 10 * approx['loss_smcm'].item()


def test_registered_and_aux_source():
    module = MODELS.build(dict(type='SpatialMultiViewContrast', cam=dict(source='aux'), start_iter=5))
    assert module.start_iter == 5 and module.loss_weight == 0.1 and module.scale_factor == 0.5
    x = _smooth(1, 3, 8, 8)
    fn = lambda v: (torch.zeros_like(v[:, :2]), v[:, :2])  # noqa: E731  (final CAM useless, aux CAM exact)
    good = normalise_view_cam(x[:, :2])
    ctx = _ctx(x, torch.rand(1, 2, 8, 8), torch.ones(1, 2), cam_fn=fn, aux_cam=good)
    aux = MODELS.build(dict(type='SpatialMultiViewContrast', cam='aux', scale_factor=1.0))(ctx)
    final = MODELS.build(dict(type='SpatialMultiViewContrast', scale_factor=1.0))(ctx)
    assert aux['loss_smcm'].item() < 1e-6  # aux CAM vs ctx.aux_cam; the random ctx.cam is not used
    assert final['loss_smcm'].item() > 1e-3
    with pytest.raises(ValueError, match="cam source must be 'final' or 'aux'"):
        SpatialMultiViewContrast(cam='mid')


def test_gradient_reaches_cam_network_parameters():
    torch.manual_seed(0)
    net = nn.Conv2d(3, 4, kernel_size=4, stride=4)  # a tiny "patch embedding + classifier" CAM network
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        target = normalise_view_cam(F.interpolate(net(x), size=(32, 32), mode='bilinear', align_corners=False))
    target = torch.rand_like(target)  # any stop-gradient target
    loss = SpatialMultiViewContrast()(_ctx(x, target, torch.ones(2, 4), cam_fn=net))['loss_smcm']
    assert loss.requires_grad
    loss.backward()
    assert net.weight.grad is not None and net.weight.grad.abs().sum() > 0
    assert net.bias.grad.abs().sum() > 0


def test_present_class_masking():
    x = _smooth(1, 3, 8, 8)
    target = normalise_view_cam(x[:, :2]).clone()
    target[:, 1] = 0.0  # disagree with the (exactly mapped) views on class 1 only
    fn = _identity_cam_fn(2)
    module = SpatialMultiViewContrast(scale_factor=1.0)
    both = module(_ctx(x, target, torch.tensor([[1., 1.]]), cam_fn=fn))['loss_smcm']
    only0 = module(_ctx(x, target, torch.tensor([[1., 0.]]), cam_fn=fn))['loss_smcm']
    only1 = module(_ctx(x, target, torch.tensor([[0., 1.]]), cam_fn=fn))['loss_smcm']
    view1 = normalise_view_cam(x[:, :2])[:, 1]
    # smc2 is 0 (views agree); smc1 = 3 identical terms; mean over the present classes' pixels
    assert torch.allclose(both, 0.1 * 3 * view1.sum() / (2 * 64) / 6, atol=1e-6)
    assert torch.allclose(only1, 2 * both, atol=1e-6)
    assert only0.item() < 1e-6


def test_box_masking():
    x = _smooth(1, 3, 8, 8)
    target = normalise_view_cam(x[:, :2]).clone()
    target[..., :, 6:] += 1.0  # disagreement only outside the box's columns 0..5
    fn = _identity_cam_fn(2)
    module = SpatialMultiViewContrast(scale_factor=1.0)
    full = module(_ctx(x, target, torch.ones(1, 2), img_boxes=[(0, 8, 0, 8)], cam_fn=fn))['loss_smcm']
    boxed = module(_ctx(x, target, torch.ones(1, 2), img_boxes=[(0, 8, 0, 6)], cam_fn=fn))['loss_smcm']
    assert torch.allclose(full, torch.tensor(0.1 * 3 * (2 * 8 * 2) / (2 * 64) / 6), atol=1e-6)
    assert boxed.item() < 1e-6


def test_term_weights_split():
    x = torch.randn(1, 3, 8, 8)
    target = torch.rand(1, 2, 8, 8)
    kw = dict(cam_fn=_identity_cam_fn(2))
    full = SpatialMultiViewContrast()(_ctx(x, target, torch.ones(1, 2), **kw))['loss_smcm']
    s1 = SpatialMultiViewContrast(smc2_weight=0.)(_ctx(x, target, torch.ones(1, 2), **kw))['loss_smcm']
    s2 = SpatialMultiViewContrast(smc1_weight=0.)(_ctx(x, target, torch.ones(1, 2), **kw))['loss_smcm']
    assert s1 > 0 and s2 > 0 and torch.allclose(full, s1 + s2)
