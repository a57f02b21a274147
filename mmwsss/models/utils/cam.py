"""CAM post-processing shared by ToCo and MCC: multi-scale CAMs, thresholded labels, ROI maps, PAR pseudo labels.

Conventions:

* CAMs are (B, K, H, W) over the K foreground classes (no background channel); class ``k`` (0-based channel) has
  label id ``k + 1`` and 0 is background.
* Image-level labels are float (B, K) multi-hot.
* ``img_box`` holds one ``(top, bottom, left, right)`` per image (a sequence or a (B, 4) tensor) in pixels of the
  training crop, bottom/right exclusive: the part of the crop that is image, not padding.
* Maps on a coarser grid than the crop (e.g. the 28x28 token grid of a 448 crop) take the box through
  :func:`box_to_grid` when ``crop_hw`` is given. The reference sliced the token map with pixel coordinates (spec
  section 2.1, "img_box bug"); here a box that does not fit the map without ``crop_hw`` is an error.
"""
from typing import Callable, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F

Box = Sequence[int]
Boxes = Union[Sequence[Box], torch.Tensor]


def normalise_cam(cam: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Min-max normalise each image and channel: ``(A - min A) / (max(A - min A) + eps)``.

    Example:
        >>> import torch
        >>> normalise_cam(torch.tensor([[[[1., 3.], [2., 5.]]]]), eps=0.)
        tensor([[[[0.0000, 0.5000],
                  [0.2500, 1.0000]]]])
    """
    cam = cam - cam.amin(dim=(-2, -1), keepdim=True)
    return cam / (cam.amax(dim=(-2, -1), keepdim=True) + eps)


def _merge_flip(cam: torch.Tensor, batch: int, size: Tuple[int, int]) -> torch.Tensor:
    """Upsample the CAMs of ``[x; flip(x)]`` to ``size`` and return ``relu(max(cam, unflipped flip-cam))``."""
    if cam.shape[-2:] != size:
        cam = F.interpolate(cam, size=size, mode='bilinear', align_corners=False)
    return torch.maximum(cam[:batch], cam[batch:].flip(-1)).relu()


@torch.no_grad()
def multi_scale_cam(cam_fn: Callable[[torch.Tensor], Tuple[torch.Tensor, Optional[torch.Tensor]]],
                    img: torch.Tensor,
                    scales: Sequence[float] = (1.0, 0.5, 1.5)) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
    """Multi-scale + flip CAMs at the input resolution, normalised to [0, 1] (spec section 1.2).

    For each scale the image is resized bilinearly and run together with its horizontal flip in one ``cam_fn``
    call (batch ``2B``); both CAMs are upsampled bilinearly to the input size, the flipped one is flipped back, and
    their elementwise max goes through a ReLU. The scales are summed, then :func:`normalise_cam`. The same is done
    for the auxiliary CAM. No gradient flows.

    Args:
        cam_fn (callable): ``x -> (cam, aux_cam)``, raw CAMs (B', K, h, w) on the token grid of ``x``; ``aux_cam``
            may be None (a bare tensor is read as ``(cam, None)``).
        img (Tensor): (B, 3, H, W) network input.
        scales (sequence[float]): resize factors; a resized side is ``int(side * scale)``. Defaults to
            (1.0, 0.5, 1.5).

    Returns:
        tuple[Tensor, Tensor | None]: ``(cam, aux_cam)``, each (B, K, H, W) in [0, 1].

    Example:
        >>> import torch, torch.nn.functional as F
        >>> cam_fn = lambda x: (F.avg_pool2d(x[:, :2], 4), None)
        >>> cam, aux = multi_scale_cam(cam_fn, torch.rand(2, 3, 32, 32))
        >>> cam.shape, aux
        (torch.Size([2, 2, 32, 32]), None)
    """
    b, _, h, w = img.shape
    cam_sum = aux_sum = None
    for scale in scales:
        x = img
        if scale != 1.0:
            x = F.interpolate(img, size=(int(h * scale), int(w * scale)), mode='bilinear', align_corners=False)
        out = cam_fn(torch.cat([x, x.flip(-1)], dim=0))
        cam, aux = (out, None) if isinstance(out, torch.Tensor) else out
        cam = _merge_flip(cam, b, (h, w))
        cam_sum = cam if cam_sum is None else cam_sum + cam
        if aux is not None:
            aux = _merge_flip(aux, b, (h, w))
            aux_sum = aux if aux_sum is None else aux_sum + aux
    return normalise_cam(cam_sum), None if aux_sum is None else normalise_cam(aux_sum)


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


def _valid_cam(cam: torch.Tensor, img_labels: torch.Tensor) -> torch.Tensor:
    """CAM with the channels of absent classes zeroed."""
    if img_labels.shape != cam.shape[:2]:
        raise ValueError(f'img_labels {tuple(img_labels.shape)} do not match the CAM {tuple(cam.shape)}')
    return cam * img_labels.to(cam.dtype)[:, :, None, None]


def cam_to_label(cam: torch.Tensor, img_labels: torch.Tensor, img_box: Optional[Boxes] = None,
                 bkg_thr: Optional[float] = None, high: float = 0.7, low: float = 0.25, ignore_mid: bool = True,
                 ignore_index: int = 255, crop_hw: Optional[Sequence[int]] = None) -> torch.Tensor:
    """Thresholded labels from a normalised CAM (spec section 2.1, PTC labels; validation CAM labels).

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
        high (float): confident-foreground threshold. Defaults to 0.7.
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
        label[value <= high] = ignore_index
        label[value <= low] = 0
    else:
        label[value <= bkg_thr] = 0
    if img_box is not None:
        label[~box_mask(img_box, label.shape[-2:], crop_hw, label.device)] = ignore_index
    return label


def cam_to_roi(cam: torch.Tensor, img_labels: torch.Tensor, low: float = 0.25, high: float = 0.7,
               img_box: Optional[Boxes] = None, crop_hw: Optional[Sequence[int]] = None) -> torch.Tensor:
    """Confidence map ``r`` for choosing and labelling contrastive views (spec sections 1.5 and 1.6).

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


@torch.no_grad()
def pseudo_labels_with_par(cam: torch.Tensor, img_labels: torch.Tensor, img: torch.Tensor,
                           par: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], high: float = 0.7,
                           low: float = 0.25, img_box: Optional[Boxes] = None, down_scale: int = 2,
                           ignore_index: int = 255) -> torch.Tensor:
    """Segmentation pseudo labels: CAM + two background levels, refined by PAR (spec section 2.3).

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
        par (callable): ``(img, masks) -> masks``, normally :class:`~mmwsss.models.utils.par.PAR`.
        high (float): background level for ``label_h``. Defaults to 0.7.
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
    for i in range(b):
        keep = present[i].nonzero()[:, 0]  # label ids of background + present classes
        fg = valid[i, keep[1:] - 1]
        stacks = [torch.cat([fg.new_full((1, *small), bg), fg]).softmax(dim=0) for bg in (high, low)]
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


def ptc_pair_labels(token_labels: torch.Tensor, ignore_index: int = 255) -> torch.Tensor:
    """Pairwise token labels for PTC (spec section 2.1): 1 same label, 0 different, ``ignore_index`` otherwise.

    A pair is ignored when either token is ignored or when it pairs a token with itself.

    Args:
        token_labels (Tensor): (B, N) labels, or (B, h, w), flattened row-major like
            :class:`~mmwsss.models.losses.PTCLoss` flattens (B, C, h, w) tokens.
        ignore_index (int): Defaults to 255.

    Returns:
        Tensor: (B, N, N) long.

    Example:
        >>> import torch
        >>> ptc_pair_labels(torch.tensor([[1, 1, 0, 255]]))
        tensor([[[255,   1,   0, 255],
                 [  1, 255,   0, 255],
                 [  0,   0, 255, 255],
                 [255, 255, 255, 255]]])
    """
    labels = token_labels.flatten(1)
    pairs = (labels[:, :, None] == labels[:, None, :]).long()
    ignored = labels == ignore_index
    drop = ignored[:, :, None] | ignored[:, None, :]
    drop |= torch.eye(labels.shape[1], dtype=torch.bool, device=labels.device)
    pairs[drop] = ignore_index
    return pairs
