"""From a normalised CAM to labels: thresholded class labels (:func:`cam_to_label`) and the 0/1/2 confidence map
of the contrastive views (:func:`cam_to_roi`).

Image-level labels are float (B, K) multi-hot; absent classes never win. Boxes are handled by
:mod:`mmwsss.models.cam.box`.
"""
from typing import Optional, Sequence, Union

import torch

from .box import Boxes, box_mask


def _valid_cam(cam: torch.Tensor, img_labels: torch.Tensor) -> torch.Tensor:
    """CAM with the channels of absent classes zeroed."""
    if img_labels.shape != cam.shape[:2]:
        raise ValueError(f'img_labels {tuple(img_labels.shape)} do not match the CAM {tuple(cam.shape)}')
    return cam * img_labels.to(cam.dtype)[:, :, None, None]


def cam_to_label(cam: torch.Tensor, img_labels: torch.Tensor, img_box: Optional[Boxes] = None,
                 bkg_thr: Optional[float] = None, high: Union[float, torch.Tensor] = 0.7, low: float = 0.25,
                 ignore_mid: bool = True,
                 ignore_index: int = 255, crop_hw: Optional[Sequence[int]] = None) -> torch.Tensor:
    """Thresholded labels from a normalised CAM (PTC token labels, validation CAM labels).

    With ``v`` the max over present classes and ``c`` its argmax + 1:

    * ``ignore_mid=True``: ``c`` where ``v > high``, 0 where ``v <= low``, ``ignore_index`` in between
      (``bkg_thr`` is not used);
    * ``ignore_mid=False``: ``c`` where ``v > bkg_thr``, else 0.

    Pixels outside ``img_box`` become ``ignore_index``.

    Args:
        cam (Tensor): (B, K, h, w) CAM in [0, 1].
        img_labels (Tensor): (B, K) multi-hot image labels.
        img_box (sequence | Tensor, optional): per-image boxes in crop pixels. Defaults to None (no padding).
        bkg_thr (float, optional): background threshold when ``ignore_mid=False``.
        high (float | Tensor): confident-foreground threshold, or one per image (B,) (DuPL's dynamic threshold).
            Defaults to 0.7.
        low (float): confident-background threshold. Defaults to 0.25.
        ignore_mid (bool): ignore the band between the thresholds. Defaults to True.
        ignore_index (int): Defaults to 255.
        crop_hw (sequence[int], optional): size of the crop the boxes refer to, needed when ``cam`` is on a coarser
            grid (see :func:`box_to_grid`). Defaults to None (``cam`` is at crop resolution).

    Returns:
        Tensor: (B, h, w) long labels.

    Example:
        >>> import torch
        >>> cam = torch.tensor([[[[0.9, 0.5, 0.1, 0.5]], [[0.2, 0.8, 0.2, 0.3]]]])  # (1, 2, 1, 4)
        >>> cam_to_label(cam, torch.tensor([[1., 1.]]))
        tensor([[[  1,   2,   0, 255]]])
    """
    if not ignore_mid and bkg_thr is None:
        raise ValueError('cam_to_label needs bkg_thr when ignore_mid is False')
    value, index = _valid_cam(cam, img_labels).max(dim=1)
    label = index + 1
    if ignore_mid:
        if torch.is_tensor(high):
            high = high.to(value).view(-1, *([1] * (value.dim() - 1)))
        label[value <= high] = ignore_index
        label[value <= low] = 0
    else:
        label[value <= bkg_thr] = 0
    if img_box is not None:
        label[~box_mask(img_box, label.shape[-2:], crop_hw, label.device)] = ignore_index
    return label


def cam_to_roi(cam: torch.Tensor, img_labels: torch.Tensor, low: float = 0.25, high: float = 0.7,
               img_box: Optional[Boxes] = None, crop_hw: Optional[Sequence[int]] = None) -> torch.Tensor:
    """Confidence map ``r`` for choosing and labelling contrastive views (ToCo's CTC crops, MCC's masked views).

    With ``v`` the max over present classes: ``r = 0`` where ``v <= low`` (confident background), ``2`` where
    ``v >= high`` (confident foreground), ``1`` otherwise. Outside ``img_box`` ``r = 0``: padding holds no object, so
    a view that sees only padding must come out negative (mean ``r <= 0.2``), not uncertain.

    Returns:
        Tensor: (B, h, w) long map with values in {0, 1, 2}.

    Example:
        >>> import torch
        >>> cam_to_roi(torch.tensor([[[[0.1, 0.5, 0.7]]]]), torch.tensor([[1.]]))
        tensor([[[0, 1, 2]]])
    """
    value = _valid_cam(cam, img_labels).amax(dim=1)
    roi = torch.ones(value.shape, dtype=torch.long, device=value.device)
    roi[value <= low] = 0
    roi[value >= high] = 2
    if img_box is not None:
        roi[~box_mask(img_box, roi.shape[-2:], crop_hw, roi.device)] = 0
    return roi
