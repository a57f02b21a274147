"""Multi-scale + flip CAMs and their min-max normalisation (mmwsss/models/cam/multi_scale.py)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmwsss.models.cam.multi_scale import multi_scale_cam, normalise_cam


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
