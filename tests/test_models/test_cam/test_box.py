"""The crop box on coarser maps (mmwsss/models/cam/box.py)."""
import pytest
import torch

from mmwsss.models.cam.box import box_mask, box_to_grid
from mmwsss.models.cam.labels import cam_to_label


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


def test_cam_to_label_maps_a_crop_box_onto_the_token_grid():
    cam = torch.full((2, 1, 28, 28), 0.9)
    labels = torch.ones(2, 1)
    boxes = [(0, 448, 0, 448), (0, 300, 100, 448)]
    label = cam_to_label(cam, labels, img_box=boxes, crop_hw=(448, 448))
    assert (label[0] == 1).all()
    inside = torch.zeros(28, 28, dtype=torch.bool)
    inside[0:19, 6:28] = True  # rows: centres 8..296 < 300; cols: first centre >= 100 is 104 (token 6)
    assert (label[1][inside] == 1).all() and (label[1][~inside] == 255).all()
