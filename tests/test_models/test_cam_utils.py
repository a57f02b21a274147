"""CAM utilities (spec 1.2, 1.5, 1.6, 2.1, 2.3) and the EMA update (spec 1.4), on hand-checked tiny tensors."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmwsss.models.utils.cam import (box_mask, box_to_grid, cam_to_label, cam_to_roi, multi_scale_cam,
                                     normalise_cam, ptc_pair_labels, pseudo_labels_with_par)
from mmwsss.models.utils.ema import ema_update_
from mmwsss.models.utils.par import PAR


def test_normalise_cam_per_image_and_channel():
    cam = torch.tensor([[[[1., 3.], [2., 5.]], [[-2., -2.], [-2., -2.]]],
                        [[[0., 10.], [5., 0.]], [[4., 2.], [3., 1.]]]])
    out = normalise_cam(cam)
    eps = 1e-5
    assert torch.allclose(out[0, 0], torch.tensor([[0., 2.], [1., 4.]]) / (4 + eps))
    assert torch.equal(out[0, 1], torch.zeros(2, 2))  # a constant channel becomes 0, not NaN
    assert torch.allclose(out[1, 0], torch.tensor([[0., 10.], [5., 0.]]) / (10 + eps))
    assert torch.allclose(out[1, 1], torch.tensor([[3., 1.], [2., 0.]]) / (3 + eps))


def _ramp_cam_fn(calls):
    """CAM = 1 at the right edge falling linearly to 0 at the left, times the mean of channel 0 (not flip-symmetric)."""

    def cam_fn(x):
        calls.append(x.clone())
        w = x.shape[-1]
        ramp = torch.linspace(0, 1, w).expand(x.shape[0], 1, x.shape[-2], w)
        cam = ramp * x[:, :1].mean(dim=(2, 3), keepdim=True)
        return cam, -cam  # the aux CAM is all <= 0: ReLU makes it 0
    return cam_fn


def test_multi_scale_cam_flip_max_relu_and_normalise_by_hand():
    calls = []
    img = torch.ones(1, 3, 4, 5)
    cam, aux = multi_scale_cam(_ramp_cam_fn(calls), img, scales=(1.0,))
    # max(ramp, flipped ramp) = max(x, 4 - x) / 4 over x = 0..4 -> [1, .75, .5, .75, 1], min-max normalised
    expected_row = (torch.tensor([1., .75, .5, .75, 1.]) - 0.5) / (0.5 + 1e-5)
    assert torch.allclose(cam[0, 0], expected_row.expand(4, 5), atol=1e-6)
    assert torch.equal(aux, torch.zeros_like(aux))
    assert len(calls) == 1 and calls[0].shape == (2, 3, 4, 5)


def test_multi_scale_cam_batches_the_flip_and_resizes_each_scale():
    calls = []
    torch.manual_seed(0)
    img = torch.rand(2, 3, 8, 12)
    cam, aux = multi_scale_cam(_ramp_cam_fn(calls), img, scales=(1.0, 0.5, 1.5))
    assert [tuple(c.shape) for c in calls] == [(4, 3, 8, 12), (4, 3, 4, 6), (4, 3, 12, 18)]
    assert torch.equal(calls[0][:2], img) and torch.equal(calls[0][2:], img.flip(-1))
    half = F.interpolate(img, size=(4, 6), mode='bilinear', align_corners=False)
    assert torch.allclose(calls[1][:2], half) and torch.allclose(calls[1][2:], half.flip(-1))
    assert cam.shape == aux.shape == (2, 1, 8, 12)
    assert torch.allclose(cam.amax(dim=(2, 3)), torch.ones(2, 1), atol=1e-4)
    assert torch.allclose(cam.amin(dim=(2, 3)), torch.zeros(2, 1))
    assert torch.allclose(cam, cam.flip(-1), atol=1e-6)  # max with the un-flipped flip-CAM is symmetric here


def test_multi_scale_cam_runs_without_grad_and_accepts_a_bare_tensor():
    conv = nn.Conv2d(3, 2, 1)
    cam, aux = multi_scale_cam(lambda x: conv(x), torch.rand(1, 3, 6, 6), scales=(1.0, 0.5))
    assert not cam.requires_grad and aux is None


def test_box_to_grid_keeps_cells_whose_centre_is_in_the_box():
    assert box_to_grid((3, 9, 2, 7), (10, 10), (10, 10)) == (3, 9, 2, 7)  # same grid: unchanged
    assert box_to_grid((0, 448, 0, 448), (448, 448), (28, 28)) == (0, 28, 0, 28)
    # token i covers pixels [16i, 16i + 16), centre 16i + 8
    assert box_to_grid((0, 300, 16, 448), (448, 448), (28, 28)) == (0, 19, 1, 28)
    assert box_to_grid((8, 24, 9, 25), (448, 448), (28, 28)) == (0, 1, 1, 2)  # centre 8 in, centre 24 out
    assert box_to_grid((100, 100, 0, 0), (448, 448), (28, 28)) == (6, 6, 0, 0)  # empty stays empty
    # non-square crop; token 12's centre is 200: out of a box ending at 200, in one ending at 201
    assert box_to_grid((0, 200, 0, 640), (448, 640), (28, 40)) == (0, 12, 0, 40)
    assert box_to_grid((0, 201, 0, 630), (448, 640), (28, 40)) == (0, 13, 0, 39)


def test_box_mask_rejects_pixel_boxes_on_a_token_grid():
    with pytest.raises(ValueError, match='crop_hw'):
        box_mask([(100, 448, 0, 448)], (28, 28))
    mask = box_mask(torch.tensor([[100, 448, 0, 448]]), (28, 28), crop_hw=(448, 448))
    assert mask.shape == (1, 28, 28)
    assert not mask[0, :6].any() and mask[0, 6:].all()  # token 6's centre is 104


def test_cam_to_label_thresholds_labels_and_box():
    # (B=1, K=3, 1, 6); class 3 is absent, so its high values must not win
    cam = torch.tensor([[[[0.71, 0.70, 0.26, 0.25, 0.10, 0.30]],
                         [[0.10, 0.20, 0.10, 0.10, 0.80, 0.20]],
                         [[0.99, 0.99, 0.99, 0.99, 0.99, 0.99]]]])
    labels = torch.tensor([[1., 1., 0.]])
    assert cam_to_label(cam, labels).tolist() == [[[1, 255, 255, 0, 2, 255]]]
    assert cam_to_label(cam, labels, ignore_mid=False, bkg_thr=0.5).tolist() == [[[1, 1, 0, 0, 2, 0]]]
    assert cam_to_label(cam, labels, img_box=[(0, 1, 1, 5)], ignore_index=7).tolist() == [[[7, 7, 7, 0, 2, 7]]]
    with pytest.raises(ValueError):
        cam_to_label(cam, labels, ignore_mid=False)


def test_cam_to_label_maps_a_crop_box_onto_the_token_grid():
    cam = torch.full((2, 1, 28, 28), 0.9)
    labels = torch.ones(2, 1)
    boxes = [(0, 448, 0, 448), (0, 300, 100, 448)]
    label = cam_to_label(cam, labels, img_box=boxes, crop_hw=(448, 448))
    assert (label[0] == 1).all()
    inside = torch.zeros(28, 28, dtype=torch.bool)
    inside[0:19, 6:28] = True  # rows: centres 8..296 < 300; cols: first centre >= 100 is 104 (token 6)
    assert (label[1][inside] == 1).all() and (label[1][~inside] == 255).all()


def test_cam_to_roi_by_hand():
    cam = torch.tensor([[[[0.10, 0.25, 0.26, 0.69, 0.70, 0.90]],
                         [[0.00, 0.00, 0.00, 0.00, 0.00, 0.95]]]])
    labels = torch.tensor([[1., 0.]])
    assert cam_to_roi(cam, labels).tolist() == [[[0, 0, 1, 1, 2, 2]]]
    assert cam_to_roi(cam, labels, low=0.5, high=0.9).tolist() == [[[0, 0, 0, 1, 1, 2]]]
    # outside the box (padding) counts as confident background
    assert cam_to_roi(cam, labels, img_box=[(0, 1, 0, 4)]).tolist() == [[[0, 0, 1, 1, 0, 0]]]
    assert cam_to_roi(cam, labels).dtype == torch.long


def _identity_par(calls):
    def par(img, masks):
        calls.append((img.clone(), masks.clone()))
        return masks
    return par


def test_pseudo_labels_combine_the_two_background_levels():
    # three 8-wide column bands: confident fg (> high), uncertain (between), background (< low)
    cam = torch.zeros(2, 3, 8, 24)
    cam[:, 1, :, :8], cam[:, 1, :, 8:16], cam[:, 1, :, 16:] = 0.9, 0.5, 0.1
    cam[:, 2] = 0.95  # class 3: present only in image 1
    labels = torch.tensor([[0., 1., 0.], [0., 1., 1.]])
    img = torch.rand(2, 3, 8, 24)
    calls = []
    out = pseudo_labels_with_par(cam, labels, img, _identity_par(calls))
    assert out.shape == (2, 8, 24) and out.dtype == torch.long
    band = out[0, 4]  # away from the band borders, where resizing mixes values
    assert (band[1:6] == 2).all() and (band[10:14] == 255).all() and (band[18:23] == 0).all()
    assert (out[1] == 3).all()  # class 3 beats bg at both levels and class 2 everywhere
    # PAR gets the image at half size and both softmaxed stacks of bg + present classes in one call per image
    assert [tuple(m.shape) for _, m in calls] == [(1, 4, 4, 12), (1, 6, 4, 12)]
    assert torch.allclose(calls[0][0], F.interpolate(img[:1], size=(4, 12), mode='bilinear', align_corners=False))
    assert torch.allclose(calls[0][1][0, :2].sum(0), torch.ones(4, 12))
    h_bg = calls[0][1][0, 0, 0, :2]
    assert torch.allclose(h_bg, torch.softmax(torch.tensor([0.7, 0.9]), 0)[0].expand(2))
    l_bg = calls[0][1][0, 2, 0, -2:]
    assert torch.allclose(l_bg, torch.softmax(torch.tensor([0.25, 0.1]), 0)[0].expand(2))


def test_pseudo_labels_box_and_no_class_image():
    cam = torch.full((2, 2, 8, 8), 0.9)
    labels = torch.tensor([[1., 0.], [0., 0.]])
    out = pseudo_labels_with_par(cam, labels, torch.rand(2, 3, 8, 8), _identity_par([]), img_box=[(0, 8, 0, 5),
                                                                                                    (0, 8, 0, 8)])
    assert (out[0, :, :5] == 1).all() and (out[0, :, 5:] == 255).all()
    assert (out[1] == 0).all()  # no class present: everything is background


def test_pseudo_labels_with_real_par_follow_the_image_edge():
    # the CAM spills two columns past the object's edge; PAR pulls the label back to the edge
    h, w = 16, 16
    img = torch.zeros(1, 3, h, w)
    img[..., :8] = 1.0
    cam = torch.zeros(1, 1, h, w)
    cam[..., :10] = 0.9
    out = pseudo_labels_with_par(cam, torch.ones(1, 1), img, PAR(num_iter=10, dilations=(1, 2, 4)), down_scale=1)
    assert (out[0, :, :8] == 1).all()
    assert (out[0, :, 8:] != 1).all()


def test_ptc_pair_labels_by_hand():
    tokens = torch.tensor([[1, 1, 0, 255], [2, 0, 2, 2]])
    pairs = ptc_pair_labels(tokens)
    assert pairs[0].tolist() == [[255, 1, 0, 255], [1, 255, 0, 255], [0, 0, 255, 255], [255] * 4]
    assert pairs[1].tolist() == [[255, 0, 1, 1], [0, 255, 0, 0], [1, 0, 255, 1], [1, 0, 1, 255]]
    # (B, h, w) labels are flattened row-major
    assert torch.equal(ptc_pair_labels(tokens.view(2, 2, 2)), pairs)


def test_ema_update_by_hand():
    teacher = nn.Sequential(nn.Linear(2, 1), nn.BatchNorm1d(1))
    student = nn.Sequential(nn.Linear(2, 1), nn.BatchNorm1d(1))
    with torch.no_grad():
        teacher[0].weight.copy_(torch.tensor([[1., 2.]]))
        teacher[0].bias.fill_(0.)
        student[0].weight.copy_(torch.tensor([[3., -2.]]))
        student[0].bias.fill_(10.)
        student[1].running_mean.fill_(5.)
    student[1].num_batches_tracked += 7
    ema_update_(teacher, student, momentum=0.9)
    assert torch.allclose(teacher[0].weight, torch.tensor([[1.2, 1.6]]))
    assert torch.allclose(teacher[0].bias, torch.tensor([1.0]))
    assert teacher[1].running_mean.item() == 5.0 and teacher[1].num_batches_tracked.item() == 7
    assert teacher[0].weight.grad is None and student[0].weight.tolist() == [[3., -2.]]
    ema_update_(teacher, student, momentum=0.0)
    assert torch.equal(teacher[0].weight, student[0].weight)
    with pytest.raises(ValueError):
        ema_update_(teacher, nn.Linear(2, 1))
