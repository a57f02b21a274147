"""What one training step of the WSSS segmentor knows, handed to every auxiliary loss module."""
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import torch
import torch.nn as nn


@dataclass
class WSSSContext:
    """Read-only view of a training step for the auxiliary losses (PTC, CTC/MCC, ...).

    Auxiliary modules read what they need from here and never from each other, so any subset of them can be
    combined in a config.

    Attributes:
        iter (int): the runner's 0-based iteration index.
        inputs (Tensor): normalised main view (B, 3, H, W).
        data_samples (list): the batch's ``SegDataSample`` (views, ``img_box``, ``view_meta``).
        img_labels (Tensor): (B, K) multi-hot foreground labels.
        img_boxes (list[tuple]): per image ``(top, bottom, left, right)`` valid region of the crop.
        cls_token, patch_tokens, aux_tokens (Tensor): backbone outputs of the main view (with grad).
        cam, aux_cam (Tensor | None): multi-scale normalised CAMs (B, K, H, W) at input resolution, no grad (None
            when no active loss reads them).
        backbone (nn.Module): the shared encoder (for extra views).
        projector, projector_teacher (nn.Module | None): student / EMA teacher projection heads.
        extras (dict): room for values one step computes once for several modules.
    """
    iter: int
    inputs: torch.Tensor
    data_samples: List[Any]
    img_labels: torch.Tensor
    img_boxes: List[Tuple[int, int, int, int]]
    cls_token: torch.Tensor
    patch_tokens: torch.Tensor
    aux_tokens: torch.Tensor
    cam: torch.Tensor
    aux_cam: torch.Tensor
    backbone: nn.Module
    projector: Optional[nn.Module] = None
    projector_teacher: Optional[nn.Module] = None
    extras: Dict[str, Any] = field(default_factory=dict)

    def view(self, key: str) -> torch.Tensor:
        """Stack the normalised extra view ``key`` (``img_local`` / ``img_global2``) of the batch."""
        try:
            return torch.stack([s.get(key) for s in self.data_samples])
        except (AttributeError, TypeError) as exc:
            raise KeyError(f'the training pipeline provides no {key!r} view; add AddLocalView/AddGlobalView to '
                           'train_pipeline') from exc

    def view_flips(self, name: str) -> List[bool]:
        """Whether view ``name`` ('local' / 'global2') of each image is horizontally flipped w.r.t. its source."""
        return [bool(s.metainfo.get('view_meta', {}).get(name, {}).get('flip', False)) for s in self.data_samples]
