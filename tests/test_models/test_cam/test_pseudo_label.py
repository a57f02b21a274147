"""The training pseudo labels with PAR (mmwsss/models/cam/pseudo_label.py)."""
import torch
import torch.nn.functional as F

from mmwsss.models.cam.par import PAR
from mmwsss.models.cam.pseudo_label import pseudo_labels_with_par


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


def test_pseudo_labels_box_and_no_class_image():
    cam = torch.full((2, 2, 8, 8), 0.9)
    labels = torch.tensor([[1., 0.], [0., 0.]])
    out = pseudo_labels_with_par(cam, labels, torch.rand(2, 3, 8, 8), _identity_par([]), img_box=[(0, 8, 0, 5),
                                                                                                    (0, 8, 0, 8)])
    assert (out[0, :, :5] == 1).all() and (out[0, :, 5:] == 255).all()
    assert (out[1] == 0).all()  # no class present: everything is background
