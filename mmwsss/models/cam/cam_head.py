"""The CAM head: two bias-free 1x1 classifiers on the final and the auxiliary patch tokens (ToCo's core)."""
from typing import Callable, Dict, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmseg.registry import MODELS

from .multi_scale import multi_scale_cam


@MODELS.register_module()
class CAMHead(nn.Module):
    """Image classification by global max pooling + a 1x1 classifier without bias, on two token maps; the
    classifier weights applied to every token give the class activation maps (CAM and aux CAM).

    Training: ``loss_cls`` and ``loss_cls_aux`` are multilabel soft-margin losses of the two classifiers.
    CAMs: :meth:`cams` gives raw CAMs (with gradient) of given tokens; :meth:`multi_scale_cams` the multi-scale +
    flip, min-max normalised CAMs of an input (no gradient) that pseudo labels and the contrast terms read.

    Args:
        in_channels (int): token channels; the segmentor passes the backbone's ``embed_dims``.
        num_classes (int): foreground classes K; the segmentor passes ``decode_head.num_classes - 1``.
        scales (sequence[float]): CAM scales (each with its flip). Defaults to (1.0, 0.5, 1.5).
        loss_weight, aux_loss_weight (float): weights of the two classification losses. Defaults to 1.0.

    Example:
        >>> import torch
        >>> head = CAMHead(in_channels=8, num_classes=3, scales=(1.0,))
        >>> patch, aux = torch.rand(2, 8, 4, 4), torch.rand(2, 8, 4, 4)
        >>> sorted(head.loss(patch, aux, torch.tensor([[1., 0., 0.], [0., 1., 1.]])))
        ['loss_cls', 'loss_cls_aux']
        >>> [tuple(c.shape) for c in head.cams(patch, aux)]
        [(2, 3, 4, 4), (2, 3, 4, 4)]
    """

    def __init__(self, in_channels: int, num_classes: int, scales: Sequence[float] = (1.0, 0.5, 1.5),
                 loss_weight: float = 1.0, aux_loss_weight: float = 1.0) -> None:
        super().__init__()
        self.num_classes = int(num_classes)
        self.classifier = nn.Conv2d(in_channels, num_classes, 1, bias=False)
        self.aux_classifier = nn.Conv2d(in_channels, num_classes, 1, bias=False)
        self.scales = tuple(scales)
        self.loss_weight, self.aux_loss_weight = loss_weight, aux_loss_weight

    def loss(self, patch: torch.Tensor, aux: torch.Tensor, img_labels: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Classification losses of the final (``patch``) and aux tokens (B, C, h, w) against (B, K) labels."""
        logits = self.classifier(F.adaptive_max_pool2d(patch, 1)).flatten(1)
        aux_logits = self.aux_classifier(F.adaptive_max_pool2d(aux, 1)).flatten(1)
        return {'loss_cls': self.loss_weight * F.multilabel_soft_margin_loss(logits, img_labels),
                'loss_cls_aux': self.aux_loss_weight * F.multilabel_soft_margin_loss(aux_logits, img_labels)}

    def cams(self, patch: torch.Tensor, aux: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Raw CAMs (B, K, h, w) of the final and aux tokens (classifier weights, no ReLU, with gradient)."""
        return F.conv2d(patch, self.classifier.weight), F.conv2d(aux, self.aux_classifier.weight)

    @torch.no_grad()
    def multi_scale_cams(self, encode: Callable, inputs: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Multi-scale + flip, min-max normalised ``(cam, aux_cam)`` (B, K, H, W) of ``inputs``.

        ``encode`` is the backbone: ``x -> (cls_token, patch_tokens, aux_tokens)``.
        """
        return multi_scale_cam(lambda x: self.cams(*encode(x)[1:]), inputs, self.scales)
