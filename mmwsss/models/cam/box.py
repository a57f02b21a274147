"""Geometry of the training crop's valid box: which part of a (possibly coarser) map is image, not padding.

``img_box`` holds one ``(top, bottom, left, right)`` per image (a sequence or a (B, 4) tensor) in pixels of the
training crop, bottom/right exclusive. Maps on a coarser grid than the crop (e.g. the 28x28 token grid of a 448
crop) take the box through :func:`box_to_grid` when ``crop_hw`` is given. The released ToCo code sliced the token
map with pixel coordinates (its "img_box bug", see docs/methods/toco.md); here a box that does not fit the map
without ``crop_hw`` is an error.
"""
from typing import Optional, Sequence, Tuple, Union

import torch

Box = Sequence[int]
Boxes = Union[Sequence[Box], torch.Tensor]


def _ceil_div(a: int, b: int) -> int:
    return -((-a) // b)


def _first_token_from(coord: int, crop: int, grid: int) -> int:
    """Smallest token index whose centre ``(i + 0.5) * crop / grid`` is ``>= coord``, clamped to [0, grid].

    Integer arithmetic (``(2i + 1) * crop >= 2 * coord * grid``) so that centres exactly on a box edge are decided
    the same way on every platform.
    """
    return min(max(_ceil_div(2 * coord * grid - crop, 2 * crop), 0), grid)


def box_to_grid(img_box: Box, crop_hw: Sequence[int], grid_hw: Sequence[int]) -> Tuple[int, int, int, int]:
    """Map a ``(top, bottom, left, right)`` pixel box of a ``crop_hw`` crop onto a ``grid_hw`` map.

    Rule: a grid cell belongs to the box iff its centre lies in the box (top/left edges inclusive, bottom/right
    exclusive, like the pixel box). A cell that straddles the image/padding border is therefore kept when most of it
    is image, which is what its feature mostly sees. With ``grid_hw == crop_hw`` the box is unchanged.

    Returns:
        tuple[int, int, int, int]: ``(top, bottom, left, right)`` in grid cells, bottom/right exclusive.

    Example:
        >>> box_to_grid((0, 300, 16, 448), (448, 448), (28, 28))  # token 18's centre is 296, token 19's is 312
        (0, 19, 1, 28)
    """
    top, bottom, left, right = (int(v) for v in img_box)
    (crop_h, crop_w), (grid_h, grid_w) = (int(v) for v in crop_hw), (int(v) for v in grid_hw)
    return (_first_token_from(top, crop_h, grid_h), _first_token_from(bottom, crop_h, grid_h),
            _first_token_from(left, crop_w, grid_w), _first_token_from(right, crop_w, grid_w))


def box_mask(img_box: Boxes, map_hw: Sequence[int], crop_hw: Optional[Sequence[int]] = None,
             device: Optional[torch.device] = None) -> torch.Tensor:
    """Boolean (B, h, w) map, True inside each image's box, for a map of size ``map_hw``.

    Args:
        img_box: one ``(top, bottom, left, right)`` per image, in crop pixels.
        map_hw: (h, w) of the map.
        crop_hw: (H, W) of the crop the boxes refer to; None means the map is the crop (the boxes must then fit
            in the map, which catches pixel boxes applied to a token grid).
        device: device of the result.
    """
    h, w = (int(v) for v in map_hw)
    boxes = [tuple(int(v) for v in box) for box in img_box]
    mask = torch.zeros(len(boxes), h, w, dtype=torch.bool, device=device)
    for i, box in enumerate(boxes):
        if crop_hw is None:
            if box[1] > h or box[3] > w:
                raise ValueError(f'img_box {box} does not fit a {h}x{w} map: pass crop_hw to map a crop-pixel box '
                                 'onto a coarser grid')
            top, bottom, left, right = box
        else:
            top, bottom, left, right = box_to_grid(box, crop_hw, (h, w))
        mask[i, top:bottom, left:right] = True
    return mask
