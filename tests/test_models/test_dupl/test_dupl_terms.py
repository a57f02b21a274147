"""DuPL's terms, each against its formula: discrepancy, dynamic threshold, cross supervision wiring, consistency."""
import os.path as osp

import pytest
import torch
import torch.nn.functional as F

from mmseg.registry import MODELS
import mmwsss  # noqa: F401
from conftest import REPO_ROOT
from mmwsss.models.dupl import DiscrepancyLoss, DynamicThreshold, StrongViewConsistencyLoss, cosine_descent
from mmwsss.models.dupl.consistency import strong_view_logits
from mmwsss.models.dupl.cross_supervision import cross_pseudo_supervision, partner
from mmwsss.models.cam import cam_to_label
from mmwsss.models.cam.pseudo_label import pseudo_labels_with_par


# ---------------------------------------------------------------- discrepancy
def test_discrepancy_is_the_spatial_cosine_per_channel_with_the_stop_gradient_halves():
    g = torch.Generator().manual_seed(0)
    f1 = torch.randn(2, 8, 4, 4, generator=g, requires_grad=True)
    f2 = torch.randn(2, 8, 4, 4, generator=g, requires_grad=True)
    loss = DiscrepancyLoss(loss_weight=1.0)(f1, f2)
    # (a) cosine over the 16 positions of every (image, channel): a (2, 8) table
    a, b = f1.detach().flatten(2), f2.detach().flatten(2)
    cos = (a * b).sum(2) / (a.norm(dim=2) * b.norm(dim=2))
    assert cos.shape == (2, 8)
    # (b) value 2 (1 + mean cos)
    assert torch.allclose(loss, 2 * (1 + cos.mean()), atol=1e-6)
    # (c) the gradient of (1 + mean cos) without any stop-gradient
    loss.backward()
    g1, g2 = f1.grad.clone(), f2.grad.clone()
    f1.grad = f2.grad = None
    plain = 1 + F.cosine_similarity(f1.flatten(2), f2.flatten(2), dim=2, eps=1e-6).mean()
    plain.backward()
    assert torch.allclose(g1, f1.grad, atol=1e-7) and torch.allclose(g2, f2.grad, atol=1e-7)
    # (d) not the per-token cosine over channels
    per_token = 2 * (1 + F.cosine_similarity(a, b, dim=1).mean())
    assert not torch.allclose(loss.detach(), per_token, atol=1e-3)


def test_discrepancy_weight_and_registry():
    loss = MODELS.build(dict(type='DiscrepancyLoss', loss_weight=0.1, start_iter=8001))
    assert loss.start_iter == 8001 and loss.loss_name == 'loss_dis'
    a = torch.randn(1, 4, 3, 3)
    assert torch.allclose(loss(a, -a), torch.tensor(0.0), atol=1e-6)  # anti-parallel maps: 0.1 x 2 x (1 - 1)
    with pytest.raises(ValueError, match='differ'):
        loss(a, torch.randn(1, 4, 2, 2))


# ---------------------------------------------------------------- dynamic threshold
@pytest.mark.parametrize('step,expected', [(-5, 0.7), (0, 0.7), (6000, 0.6625), (9000, 0.625), (12000, 0.5875),
                                           (15000, 0.56), (17999, 0.55), (18000, 0.55), (30000, 0.55)])
def test_cosine_descent_values(step, expected):
    assert cosine_descent(0.7, 0.55, step, 18000) == pytest.approx(expected, abs=5e-5)


def test_dynamic_threshold_per_image_is_the_max_over_present_classes():
    from mmengine.config import Config
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs/_base_/models/dupl_deit-b16.py'))
    thr = MODELS.build(cfg.model.dynamic_threshold)
    labels = torch.zeros(3, 20)
    labels[0, [14, 18]] = 1  # person + train: train keeps 0.70
    labels[1, 14] = 1  # person only
    # image 2: no class (the released code would fail on the max over an empty set)
    for step, person in [(1999, 0.7), (2000, 0.7), (8000, 0.6625), (11000, 0.625), (14000, 0.5875),
                         (17000, 0.56), (19999, 0.55)]:
        values = thr(labels, step)
        assert values[0] == pytest.approx(0.7) and values[1] == pytest.approx(person, abs=5e-5), step
        assert values[2] == pytest.approx(0.7)
    with pytest.raises(ValueError, match='20 targets for 5 classes'):
        thr(torch.ones(1, 5), 3000)


def test_per_image_thresholds_reach_token_and_pseudo_labels():
    cam = torch.full((2, 1, 2, 2), 0.6)
    labels = torch.ones(2, 1)
    high = torch.tensor([0.7, 0.55])
    tokens = cam_to_label(cam, labels, high=high, low=0.25)
    assert (tokens[0] == 255).all() and (tokens[1] == 1).all()
    identity = lambda img, masks: masks  # noqa: E731
    pseudo = pseudo_labels_with_par(torch.full((2, 1, 8, 8), 0.6), labels, torch.rand(2, 3, 8, 8), identity,
                                    high=high)
    assert (pseudo[0] == 255).all() and (pseudo[1] == 1).all()


# ---------------------------------------------------------------- cross supervision
class _Head(torch.nn.Module):
    """A decode head stand-in: a 1x1 conv and the balanced CE through MMSeg's loss_by_feat."""

    def __init__(self):
        super().__init__()
        from mmwsss.models.heads import LargeFOVHead
        self.head = LargeFOVHead(in_channels=4, channels=4, num_classes=3, in_index=0, dilation=1,
                                 loss_decode=dict(type='BalancedSegCELoss', loss_weight=1.0))

    def loss_by_feat(self, logits, samples):
        return self.head.loss_by_feat(logits, samples)


def test_cross_supervision_direction_and_gradients():
    from mmseg.structures import SegDataSample
    torch.manual_seed(0)
    heads = [_Head(), _Head()]
    feats = torch.randn(2, 4, 6, 6)
    logits = [h.head([feats]) for h in heads]
    y1 = torch.randint(0, 3, (2, 12, 12))
    y2 = torch.randint(0, 3, (2, 12, 12))
    samples = [SegDataSample(metainfo=dict(img_shape=(12, 12))) for _ in range(2)]
    base = cross_pseudo_supervision(heads, logits, [y1, y2], samples)
    y1_changed = torch.where(y1 == 0, torch.ones_like(y1), y1)
    changed = cross_pseudo_supervision(heads, logits, [y1_changed, y2], samples)
    # head 1 (index 0) learns from Y_2: unchanged; head 2 learns from Y_1: changed
    assert torch.equal(base[0]['decode.loss_seg'], changed[0]['decode.loss_seg'])
    assert not torch.equal(base[1]['decode.loss_seg'], changed[1]['decode.loss_seg'])
    # the gradient of the change w.r.t. student 1's head is zero
    diff = changed[1]['decode.loss_seg'] - base[1]['decode.loss_seg'] + (
        changed[0]['decode.loss_seg'] - base[0]['decode.loss_seg'])
    diff.backward()
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in heads[0].parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in heads[1].parameters())
    assert [partner(k, 2) for k in range(2)] == [1, 0] and [partner(k, 3) for k in range(3)] == [1, 2, 0]


# ---------------------------------------------------------------- consistency
def test_consistency_mask_normaliser_and_target():
    loss = StrongViewConsistencyLoss(loss_weight=1.0, conf_thr=0.9)
    clean = torch.tensor([[[[6.0, 6.0, 0.1, 6.0]], [[0.0, 0.0, 0.0, 0.0]]]])  # (1, 2, 1, 4)
    partner_labels = torch.tensor([[[255, 1, 255, 255]]])
    strong = torch.randn(1, 2, 1, 4, requires_grad=True)
    # (a) the mask: partner-ignored AND confident (pixel 2 is not confident, pixel 1 is supervised)
    mask, target = loss.mask_and_target(clean, partner_labels)
    assert mask.tolist() == [[[True, False, False, True]]]
    # (c) the target is the clean argmax, detached
    assert target.tolist() == [[[0, 0, 0, 0]]] and not target.requires_grad
    # (b) normalised by the mask count
    value = loss(strong, clean, partner_labels)
    ce = F.cross_entropy(strong.detach(), target, reduction='none')
    assert torch.allclose(value, (ce[0, 0, 0] + ce[0, 0, 3]) / 2)
    value.backward()
    assert strong.grad[..., 1].abs().sum() == 0 and strong.grad[..., 0].abs().sum() > 0
    # an empty mask gives 0, not NaN
    empty = loss(strong, clean, torch.zeros(1, 1, 4, dtype=torch.long))
    assert float(empty.detach()) == 0.0


def test_consistency_region_includes_the_crop_padding():
    """Padding outside img_box is 255 in the partner's labels, so it belongs to the region where confident."""
    identity = lambda img, masks: masks  # noqa: E731
    cam = torch.full((1, 1, 8, 8), 0.9)
    partner_labels = pseudo_labels_with_par(cam, torch.ones(1, 1), torch.rand(1, 3, 8, 8), identity,
                                            img_box=[(0, 8, 0, 5)])
    assert (partner_labels[0, :, 5:] == 255).all() and (partner_labels[0, :, :5] == 1).all()
    clean = torch.zeros(1, 2, 8, 8)
    clean[:, 0] = 8.0  # confident everywhere
    mask, _ = StrongViewConsistencyLoss().mask_and_target(clean, partner_labels)
    assert mask[0, :, 5:].all() and not mask[0, :, :5].any()


def test_strong_view_flip_back_alignment():
    """A horizontally equivariant network applied to the flipped, 0.75-scaled view reproduces the clean logits up
    to interpolation error; without the flip back it does not."""
    x = torch.linspace(0, 1, 32)
    img = (torch.sin(6 * x)[None, :] * torch.cos(4 * x)[:, None])[None, None].repeat(2, 3, 1, 1)
    net = lambda v: torch.cat([v[:, :1], -v[:, 1:2]], dim=1)  # noqa: E731  pointwise: flip-equivariant
    clean = net(img)
    flipped = img.flip(-1)
    aligned = strong_view_logits(net, flipped, [True, True], 0.75, (32, 32))
    assert (aligned - clean).abs().max() < 0.08
    misaligned = strong_view_logits(net, flipped, [False, False], 0.75, (32, 32))
    assert (misaligned - clean).abs().max() > 0.5
    assert strong_view_logits(net, img, [False, False], 1.0, (32, 32)).equal(clean)
