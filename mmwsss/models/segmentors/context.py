"""What one training step of the WSSS segmentor knows, handed to every auxiliary loss module."""
import zlib
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
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

    def generators(self, device, stream: str) -> List[torch.Generator]:
        """One generator per image for the random draws of ``stream`` (a name unique to the drawing module).

        Seeded from the image's ``sample_seed`` (set by :class:`~mmwsss.datasets.SeededInfiniteSampler`) and the
        stream name, so an image's random views do not depend on the batch it is in, the process it is on or
        whether the run was resumed. Without a ``sample_seed`` the seeds come from torch's global generator.
        """
        salt = zlib.crc32(stream.encode())
        gens = []
        for sample in self.data_samples:
            seed = sample.metainfo.get('sample_seed')
            if seed is None:
                seed = int(torch.randint(2**31 - 1, (1,)))
            gen = torch.Generator(device=device)
            gen.manual_seed(int(np.random.SeedSequence([int(seed), salt]).generate_state(1)[0]))
            gens.append(gen)
        return gens

    def view_flips(self, name: str) -> List[bool]:
        """Whether view ``name`` ('local' / 'global2') of each image is horizontally flipped w.r.t. its source."""
        return [bool(s.metainfo.get('view_meta', {}).get(name, {}).get('flip', False)) for s in self.data_samples]
