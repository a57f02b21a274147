"""CAM -> labels and the 0/1/2 confidence map (mmwsss/models/cam/labels.py)."""
import pytest
import torch

from mmwsss.models.cam.labels import cam_to_label, cam_to_roi


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


def test_cam_to_roi_by_hand():
    cam = torch.tensor([[[[0.10, 0.25, 0.26, 0.69, 0.70, 0.90]],
                         [[0.00, 0.00, 0.00, 0.00, 0.00, 0.95]]]])
    labels = torch.tensor([[1., 0.]])
    assert cam_to_roi(cam, labels).tolist() == [[[0, 0, 1, 1, 2, 2]]]
    assert cam_to_roi(cam, labels, low=0.5, high=0.9).tolist() == [[[0, 0, 0, 1, 1, 2]]]
    # outside the box (padding) counts as confident background
    assert cam_to_roi(cam, labels, img_box=[(0, 1, 0, 4)]).tolist() == [[[0, 0, 1, 1, 0, 0]]]
    assert cam_to_roi(cam, labels).dtype == torch.long
