"""The training pseudo labels: CAM + two background levels, refined by PAR, with an ignore band (ToCo's rule).

:func:`pseudo_labels_with_par` is the rule; :class:`PseudoLabeler` holds its settings (thresholds, PAR, the
resolution PAR runs at, which CAM) and is what the segmentor calls.
"""
from typing import Callable, Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmseg.registry import MODELS

from .box import Boxes, box_mask
from .choice import CAMChoice
from .labels import _valid_cam
from .par import PAR


@torch.no_grad()
def pseudo_labels_with_par(cam: torch.Tensor, img_labels: torch.Tensor, img: torch.Tensor,
                           par: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                           high: Union[float, torch.Tensor] = 0.7,
                           low: float = 0.25, img_box: Optional[Boxes] = None, down_scale: int = 2,
                           ignore_index: int = 255) -> torch.Tensor:
    """Segmentation pseudo labels: CAM + two background levels, refined by PAR (docs/methods/toco.md).

    For ``bg`` in (``high``, ``low``): prepend a constant ``bg`` channel to the valid CAM, downsample by
    ``down_scale`` (bilinear), keep background + the image's present classes, softmax over channels, refine with
    ``par`` on the equally downsampled image, upsample to the input size and take the argmax (mapped back to label
    ids), giving ``label_h`` and ``label_l``. Then:

    * foreground class where ``label_h`` is foreground;
    * 0 where both are background;
    * ``ignore_index`` where ``label_h`` is background but ``label_l`` is foreground (uncertain);
    * ``ignore_index`` outside ``img_box``.

    Both stacks go through ``par`` in a single call per image (concatenated along channels): PAR treats channels
    independently, so this equals two calls and computes the image affinity once.

    Args:
        cam (Tensor): (B, K, H, W) normalised CAM at the input resolution.
        img_labels (Tensor): (B, K) multi-hot image labels.
        img (Tensor): (B, 3, H, W) image (PAR is invariant to per-channel affine changes, so any normalisation).
        par (callable): ``(img, masks) -> masks``, normally :class:`~mmwsss.models.cam.PAR`.
        high (float | Tensor): background level for ``label_h``, or one per image (B,) (DuPL's dynamic
            threshold). Defaults to 0.7.
        low (float): background level for ``label_l``. Defaults to 0.25.
        img_box (sequence | Tensor, optional): per-image boxes in input pixels. Defaults to None.
        down_scale (int): downsampling factor for PAR. Defaults to 2.
        ignore_index (int): Defaults to 255.

    Returns:
        Tensor: (B, H, W) long pseudo labels.

    Example:
        >>> import torch
        >>> cam = torch.zeros(1, 2, 8, 8)
        >>> cam[:, 1, :, :4] = 0.9
        >>> cam[:, 1, :, 4:] = 0.5
        >>> identity = lambda img, masks: masks
        >>> pseudo_labels_with_par(cam, torch.tensor([[0., 1.]]), torch.rand(1, 3, 8, 8), identity)[0, 0]
        tensor([  2,   2,   2,   2, 255, 255, 255, 255])
    """
    b, k, h, w = cam.shape
    if img.shape[0] != b or img.shape[-2:] != (h, w):
        raise ValueError(f'img {tuple(img.shape)} and cam {tuple(cam.shape)} must share batch and size')
    small = (h // down_scale, w // down_scale)
    valid = _valid_cam(cam.float(), img_labels)
    img = img.float()
    if down_scale != 1:
        # the constant background channels are added after the resize: bilinear resizing keeps a constant
        valid = F.interpolate(valid, size=small, mode='bilinear', align_corners=False)
        img = F.interpolate(img, size=small, mode='bilinear', align_corners=False)
    present = torch.cat([img_labels.new_ones(b, 1), img_labels], dim=1) > 0
    label_h = torch.full((b, h, w), ignore_index, dtype=torch.long, device=cam.device)
    label_l = label_h.clone()
    highs = torch.as_tensor(high, dtype=valid.dtype, device=valid.device).expand(b)  # one level per image
    for i in range(b):
        keep = present[i].nonzero()[:, 0]  # label ids of background + present classes
        fg = valid[i, keep[1:] - 1]
        stacks = [torch.cat([fg.new_zeros((1, *small)) + bg, fg]).softmax(dim=0) for bg in (highs[i], low)]
        refined = par(img[i:i + 1], torch.cat(stacks)[None])
        if refined.shape[-2:] != (h, w):
            refined = F.interpolate(refined, size=(h, w), mode='bilinear', align_corners=False)
        n = keep.numel()
        label_h[i] = keep[refined[0, :n].argmax(dim=0)]
        label_l[i] = keep[refined[0, n:].argmax(dim=0)]
    label = label_h.clone()
    label[label_h == 0] = ignore_index
    label[(label_h == 0) & (label_l == 0)] = 0
    if img_box is not None:
        label[~box_mask(img_box, (h, w), None, label.device)] = ignore_index
    return label


@MODELS.register_module()
class PseudoLabeler(nn.Module):
    """The segmentation pseudo labels of a training step: which CAM, the threshold pair, PAR and its resolution.

    Args:
        thr (tuple[float, float]): ``(low, high)`` background levels (0.25, 0.7 VOC; 0.25, 0.65 COCO). The
            segmentor passes its own pair.
        cam (dict | str): :class:`~mmwsss.models.cam.CAMChoice` of the labels: ``'final'`` (VOC), or
            ``dict(source='aux', final_after=12000)`` (ToCo/MCC COCO). Defaults to 'final'.
        par (dict, optional): :class:`~mmwsss.models.cam.PAR` arguments.
        par_scale (float): resolution PAR runs at (0.5 = half, as the released ToCo code). Defaults to 0.5.

    Example:
        >>> import torch
        >>> labeler = PseudoLabeler(thr=(0.25, 0.7), par=dict(num_iter=1, dilations=(1,)))
        >>> cam = torch.zeros(1, 2, 16, 16); cam[:, 1, :, :8] = 0.9
        >>> labels = labeler(cam, cam, torch.tensor([[0., 1.]]), torch.rand(1, 3, 16, 16), [(0, 16, 0, 16)], step=0)
        >>> labels.shape, int(labels[0, 0, 0]), int(labels[0, 0, -1])
        (torch.Size([1, 16, 16]), 2, 0)
    """

    def __init__(self, thr: Sequence[float] = (0.25, 0.7), cam=None, par: Optional[dict] = None,
                 par_scale: float = 0.5) -> None:
        super().__init__()
        self.low_thr, self.high_thr = (float(v) for v in thr)
        self.cam = CAMChoice.build(cam)
        self.par = PAR(**(par or {}))
        self.par_scale = par_scale

    @torch.no_grad()
    def forward(self, cam: torch.Tensor, aux_cam: torch.Tensor, img_labels: torch.Tensor, image: torch.Tensor,
                img_boxes: Optional[Boxes], step: int, high: Optional[torch.Tensor] = None) -> torch.Tensor:
        """(B, H, W) long labels: class ids, 0 background, 255 uncertain or outside the crop's box.

        ``image`` is PAR's guidance image (the main view in [0, 1] RGB); the CAM is chosen for optimizer step
        ``step`` by ``cam``; ``high`` (B,), when given, replaces the high level per image (DuPL's dynamic
        threshold).
        """
        return self.label(self.cam.pick(cam, aux_cam, step), img_labels, image, img_boxes, high)

    @torch.no_grad()
    def label(self, cam: torch.Tensor, img_labels: torch.Tensor, image: torch.Tensor,
              img_boxes: Optional[Boxes], high: Optional[torch.Tensor] = None) -> torch.Tensor:
        """The pseudo labels of a given CAM (used by ``predict(output='pseudo')``, which picks its own CAM)."""
        return pseudo_labels_with_par(cam, img_labels, image, self.par,
                                      high=self.high_thr if high is None else high, low=self.low_thr,
                                      img_box=img_boxes, down_scale=round(1 / self.par_scale))

    def extra_repr(self) -> str:
        return f'thr=({self.low_thr}, {self.high_thr}), cam={self.cam}, par_scale={self.par_scale}'
