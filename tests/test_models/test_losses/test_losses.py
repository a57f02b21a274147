"""PTC, view-contrast (CTC/MCC) and balanced segmentation losses against the spec's formulas (2.1, 1.5, 2.4)."""
import math

import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData

import mmseg.models  # noqa: F401  (registers FCNHead)
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from mmwsss.models.losses import BalancedSegCELoss, PTCLoss, ViewContrastLoss


# ----------------------------------------------------------------------------------------------------- PTC (2.1)
def _ptc_by_hand(tokens, pairs):
    """tokens: list (batch) of lists of feature vectors; pairs: nested lists of pair labels."""
    pos_sum = neg_sum = 0.0
    n_pos = n_neg = 0
    for feats, labels in zip(tokens, pairs):
        for p, fp in enumerate(feats):
            for q, fq in enumerate(feats):
                cos = abs(sum(a * b for a, b in zip(fp, fq))
                          / math.sqrt(sum(a * a for a in fp)) / math.sqrt(sum(b * b for b in fq)))
                if labels[p][q] == 1:
                    pos_sum, n_pos = pos_sum + cos, n_pos + 1
                elif labels[p][q] == 0:
                    neg_sum, n_neg = neg_sum + cos, n_neg + 1
    return 0.5 * (1 - pos_sum / (n_pos + 1)) + 0.5 * neg_sum / (n_neg + 1)


def test_ptc_loss_matches_the_formula_by_hand():
    tokens = [[[1., 0.], [2., 1.], [-1., 0.5]], [[0., 3.], [1., 1.], [1., -1.]]]  # one anti-parallel-ish pair
    pairs = [[[255, 1, 0], [1, 255, 1], [0, 1, 255]], [[255, 0, 255], [0, 255, 1], [255, 1, 255]]]
    expected = _ptc_by_hand(tokens, pairs)
    loss = PTCLoss(loss_weight=0.2)(torch.tensor(tokens), torch.tensor(pairs))
    assert loss.item() == pytest.approx(0.2 * expected, rel=1e-5)
    # (B, C, h, w) tokens flatten row-major: the same 3 tokens as a 1x3 map
    loss_map = PTCLoss(loss_weight=0.2)(torch.tensor(tokens).transpose(1, 2).reshape(2, 2, 1, 3), torch.tensor(pairs))
    assert loss_map.item() == pytest.approx(loss.item(), rel=1e-6)
    assert PTCLoss().loss_name == 'loss_ptc'


def test_ptc_loss_all_ignored_is_finite():
    tokens = torch.randn(2, 8, 3, 3, requires_grad=True)
    loss = PTCLoss(loss_weight=1.0)(tokens, torch.full((2, 9, 9), 255))
    assert loss.item() == pytest.approx(0.5)
    loss.backward()
    assert torch.isfinite(tokens.grad).all()
    with pytest.raises(ValueError):
        PTCLoss()(tokens, torch.full((2, 8, 8), 255))


# ---------------------------------------------------------------------------------------- view contrast (1.5)
def _contrast_by_hand(teacher, student, flags, tau, eps=1e-4):
    """The spec's L_i, averaged over images, with plain double-precision math (exp and log as written)."""
    losses = []
    for t_img, s_img, f_img in zip(teacher, student, flags):
        e = [[math.exp(sum(a * b for a, b in zip(t, s)) / tau) for s in s_img] for t in t_img]
        neg = [sum(e_a[j] for j in range(len(s_img)) if not f_img[j]) for e_a in e]
        total = 0.0
        for j in range(len(s_img)):
            if f_img[j]:
                for a in range(len(t_img)):
                    total += -math.log(e[a][j] / (e[a][j] + neg[a] + eps))
        for a in range(len(t_img)):
            total += -math.log(1 / (1 + neg[a] + eps))
        losses.append(total / (2 * (sum(f_img) + eps)))
    return sum(losses) / len(losses)


def test_view_contrast_loss_matches_the_formula_by_hand():
    torch.manual_seed(0)
    teacher = torch.randn(2, 2, 3)
    student = torch.randn(2, 5, 3)
    flags = [[True, True, False, True, False], [True, True, True, False, False]]
    expected = _contrast_by_hand(teacher.tolist(), student.tolist(), flags, tau=0.5)
    loss = ViewContrastLoss(temperature=0.5, loss_weight=0.5)(teacher, student, torch.tensor(flags))
    assert loss.item() == pytest.approx(0.5 * expected, rel=1e-5)
    expected_t1 = _contrast_by_hand(teacher.tolist(), student.tolist(), flags, tau=1.0)
    assert ViewContrastLoss(temperature=1.0, loss_weight=1.0)(teacher, student, torch.tensor(flags)).item() \
        == pytest.approx(expected_t1, rel=1e-5)


def test_view_contrast_loss_without_negatives():
    teacher = torch.tensor([[[1., 0.], [0., 1.]]])
    student = torch.tensor([[[1., 1.], [2., 0.], [0., -1.]]], requires_grad=True)
    flags = torch.ones(1, 3, dtype=torch.bool)
    expected = _contrast_by_hand(teacher.tolist(), student.tolist(), flags.tolist(), tau=0.5)
    # N_a = 0: every positive term is -log(e / (e + 1e-4)) and the push term is log(1 + 1e-4)
    by_terms = (6 * 0 + 2 * math.log1p(1e-4)) / (2 * (3 + 1e-4))
    assert expected == pytest.approx(by_terms + sum(math.log1p(1e-4 / math.exp(2 * v))
                                                    for v in (1, 2, 0, 1, 0, -1)) / (2 * (3 + 1e-4)), rel=1e-9)
    loss = ViewContrastLoss(loss_weight=1.0)(teacher, student, flags)
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    loss.backward()  # log N_a = -inf must not leak NaN into the gradient
    assert torch.isfinite(student.grad).all()


def test_view_contrast_loss_is_stable_for_large_logits():
    # logits up to ~600: exp overflows in float32 (the reference gives inf/NaN) but not in double precision
    teacher = torch.tensor([[[10., 0.], [0., 10.]]])
    student = torch.tensor([[[30., 1.], [1., 25.], [29., 29.], [-30., 5.]]], requires_grad=True)
    flags = torch.tensor([[True, True, False, False]])
    expected = _contrast_by_hand(teacher.tolist(), student.tolist(), flags.tolist(), tau=0.5)
    loss = ViewContrastLoss(loss_weight=1.0)(teacher, student, flags)
    assert math.isfinite(expected) and loss.item() == pytest.approx(expected, rel=1e-5)
    loss.backward()
    assert torch.isfinite(student.grad).all() and student.grad.abs().sum() > 0
    naive = torch.exp(torch.einsum('bad,bvd->bav', teacher, student.detach()) / 0.5)
    assert not torch.isfinite(naive).all()  # the point of the log-sum-exp form


def test_view_contrast_loss_checks_shapes():
    with pytest.raises(ValueError):
        ViewContrastLoss()(torch.randn(2, 2, 4), torch.randn(2, 5, 4), torch.ones(2, 4, dtype=torch.bool))


# ------------------------------------------------------------------------------------- balanced seg CE (2.4)
def _balanced_by_hand(logits, label, ignore=255):
    bg, fg = [], []
    b, c, h, w = logits.shape
    for i in range(b):
        for y in range(h):
            for x in range(w):
                lab = int(label[i, y, x])
                if lab == ignore:
                    continue
                row = [float(logits[i, k, y, x]) for k in range(c)]
                ce = math.log(sum(math.exp(v) for v in row)) - row[lab]
                (bg if lab == 0 else fg).append(ce)
    mean = (lambda v: sum(v) / len(v) if v else 0.0)
    return 0.5 * mean(bg) + 0.5 * mean(fg)


def test_balanced_seg_loss_matches_the_formula_by_hand():
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 3, 4)
    label = torch.tensor([[[0, 0, 0, 0], [0, 0, 0, 1], [2, 255, 0, 0]],
                          [[0, 0, 255, 255], [0, 0, 0, 0], [0, 0, 0, 2]]])
    loss = BalancedSegCELoss(loss_weight=0.1)(logits, label)
    assert loss.item() == pytest.approx(0.1 * _balanced_by_hand(logits, label), rel=1e-5)
    # differs from plain CE, which the 13 background pixels dominate
    assert loss.item() != pytest.approx(0.1 * F.cross_entropy(logits, label, ignore_index=255).item(), rel=1e-3)


@pytest.mark.parametrize('case', ['no_fg', 'no_bg', 'all_ignored'])
def test_balanced_seg_loss_empty_halves_are_finite(case):
    torch.manual_seed(1)
    logits = torch.randn(1, 3, 2, 3, requires_grad=True)
    label = {'no_fg': torch.tensor([[[0, 0, 255], [0, 255, 0]]]),
             'no_bg': torch.tensor([[[1, 2, 255], [2, 255, 1]]]),
             'all_ignored': torch.full((1, 2, 3), 255)}[case]
    loss = BalancedSegCELoss()(logits, label)
    assert torch.isfinite(loss)
    # the remaining half keeps its weight 1/2 (no renormalisation); nothing left gives 0
    assert loss.item() == pytest.approx(_balanced_by_hand(logits.detach(), label), rel=1e-5)
    if case != 'all_ignored':
        valid = label != 255
        plain = F.cross_entropy(logits[0].permute(1, 2, 0)[valid[0]], label[valid]).item()
        assert loss.item() == pytest.approx(0.5 * plain, rel=1e-5)
    else:
        assert loss.item() == 0.0
    loss.backward()
    assert torch.isfinite(logits.grad).all()


def test_balanced_seg_loss_weight_and_ignore_index_arguments():
    logits = torch.zeros(1, 3, 1, 4)
    label = torch.tensor([[[0, 1, 7, 0]]])
    # ignore_index from forward (what MMSeg heads pass) overrides the constructor's
    assert BalancedSegCELoss()(logits, label, ignore_index=7).item() == pytest.approx(math.log(3), rel=1e-6)
    weight = torch.tensor([[[2., 1., 1., 0.]]])
    # bg: (2 log3 + 0) / 2 pixels, fg: log 3 / 1 pixel
    assert BalancedSegCELoss()(logits, label, weight=weight, ignore_index=7).item() \
        == pytest.approx(math.log(3), rel=1e-6)
    weight = torch.tensor([[[1., 3., 1., 1.]]])
    assert BalancedSegCELoss()(logits, label, weight=weight, ignore_index=7).item() \
        == pytest.approx(0.5 * math.log(3) + 1.5 * math.log(3), rel=1e-6)


def test_losses_build_from_the_registry_and_serve_an_mmseg_decode_head():
    for cfg, cls in [(dict(type='PTCLoss'), PTCLoss), (dict(type='ViewContrastLoss'), ViewContrastLoss),
                     (dict(type='BalancedSegCELoss'), BalancedSegCELoss)]:
        loss = MODELS.build(cfg)
        assert isinstance(loss, cls) and loss.loss_name.startswith('loss_')
    head = MODELS.build(dict(type='FCNHead', in_channels=4, channels=4, num_convs=1, num_classes=3,
                             loss_decode=dict(type='BalancedSegCELoss', loss_weight=0.1)))
    torch.manual_seed(2)
    seg_logits = torch.randn(2, 3, 4, 4)
    label = torch.randint(0, 3, (2, 4, 4))
    label[0, 0] = 255
    samples = [SegDataSample(gt_sem_seg=PixelData(data=label[i:i + 1])) for i in range(2)]
    losses = head.loss_by_feat(seg_logits, samples)
    assert set(losses) == {'loss_seg', 'acc_seg'}
    assert losses['loss_seg'].item() == pytest.approx(0.1 * _balanced_by_hand(seg_logits, label), rel=1e-5)
