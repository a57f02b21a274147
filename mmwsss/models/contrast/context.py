"""What one training step of the WSSS segmentor hands every auxiliary module: tensors, plus one typed encoder."""
import zlib
from dataclasses import dataclass
from typing import Any, List, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn

from ...datasets.keys import SAMPLE_SEED, VIEW_GLOBAL2, VIEW_LOCAL, VIEW_META, VIEW_STRONG


class WSSSEncoder:
    """The one way an auxiliary module reaches back into the network: encode extra views with the shared backbone.

    The segmentor builds it around its backbone and CAM head. Everything runs with gradient.

    Args:
        backbone (nn.Module): ``x -> (cls_token, patch_tokens, aux_tokens)``, with ``forward_visible(x, keep)``
            for visible-token encoding (:class:`~mmwsss.models.backbones.WSSSViT`).
        cam_head (nn.Module): :class:`~mmwsss.models.cam.CAMHead`.
    """

    def __init__(self, backbone: nn.Module, cam_head: nn.Module) -> None:
        self._backbone, self._cam_head = backbone, cam_head

    def encode(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(cls_token (B, C), patch_tokens (B, C, h, w), aux_tokens (B, C, h, w))`` of a normalised batch."""
        return self._backbone(x)

    def encode_visible(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """Class tokens (B, C) of ``x`` encoded on the tokens ``keep`` (B, h, w) marks visible (MCC's views)."""
        return self._backbone.forward_visible(x, keep)

    def cams(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Raw ``(cam, aux_cam)`` (B, K, h, w) of ``x``, with gradient (SMCM's view CAMs)."""
        _, patch, aux = self._backbone(x)
        return self._cam_head.cams(patch, aux)


@dataclass
class WSSSContext:
    """Read-only view of a training step for the auxiliary modules (PTC, CTC, MCC, SMCM, MP2M, ...).

    Auxiliary modules read what they need from here and never from each other, so any subset of them can be
    combined in a config. Network access goes through :attr:`encoder` only.

    Attributes:
        iter (int): the runner's 0-based iteration index (forward passes).
        step (int): the 0-based optimizer step (``iter // accumulative_counts``); thresholds compare with it.
        first_in_step (bool): whether this is the first forward of the step (always True without accumulation).
        inputs (Tensor): normalised main view (B, 3, H, W).
        data_samples (list): the batch's ``SegDataSample`` (views, ``img_box``, ``view_meta``, ``sample_seed``).
        img_labels (Tensor): (B, K) multi-hot foreground labels.
        img_boxes (list[tuple]): per image ``(top, bottom, left, right)`` valid region of the crop.
        cls_token, patch_tokens, aux_tokens (Tensor): backbone outputs of the main view (with grad).
        cam, aux_cam (Tensor | None): multi-scale normalised CAMs (B, K, H, W) at input resolution, no grad (None
            when no active module reads them).
        encoder (WSSSEncoder): encodes extra views with the shared backbone.
        high_thr (Tensor | None): (B,) confident-foreground threshold of each image in this step, when the
            segmentor schedules it (DuPL's dynamic threshold); modules that follow the segmentor's thresholds use it
            (:meth:`~mmwsss.models.contrast.AuxModule.high_threshold`). None: the fixed thresholds.
    """
    iter: int
    step: int
    first_in_step: bool
    inputs: torch.Tensor
    data_samples: List[Any]
    img_labels: torch.Tensor
    img_boxes: List[Tuple[int, int, int, int]]
    cls_token: torch.Tensor
    patch_tokens: torch.Tensor
    aux_tokens: torch.Tensor
    cam: Optional[torch.Tensor]
    aux_cam: Optional[torch.Tensor]
    encoder: WSSSEncoder
    high_thr: Optional[torch.Tensor] = None

    @property
    def crop_hw(self) -> Tuple[int, int]:
        """(H, W) of the training crop, which ``img_boxes`` refer to."""
        return tuple(self.inputs.shape[-2:])

    def view(self, key: str) -> torch.Tensor:
        """Stack the normalised extra view ``key`` (:data:`~mmwsss.datasets.keys.VIEW_KEYS`) of the batch."""
        try:
            return torch.stack([s.get(key) for s in self.data_samples])
        except (AttributeError, TypeError) as exc:
            transform = {VIEW_GLOBAL2: 'AddGlobalView', VIEW_LOCAL: 'AddLocalView', VIEW_STRONG: 'AddStrongView'}.get(
                key, 'the transform that writes it')
            raise KeyError(f'the training pipeline provides no {key!r} view: add {transform} to train_pipeline (before '
                           'PackWeakSegInputs)') from exc

    def view_global2(self) -> torch.Tensor:
        """The second global views (B, 3, H2, W2)."""
        return self.view(VIEW_GLOBAL2)

    def view_local(self) -> torch.Tensor:
        """The local views (B, 3, H, W): the main crop with its own photometric augmentation and flip."""
        return self.view(VIEW_LOCAL)

    def generators(self, device, stream: str) -> List[torch.Generator]:
        """One generator per image for the random draws of ``stream`` (a name unique to the drawing module).

        Seeded from the image's ``sample_seed`` (set by :class:`~mmwsss.datasets.SeededInfiniteSampler`) and the
        stream name, so an image's random views do not depend on the batch it is in, the process it is on or
        whether the run was resumed. Without a ``sample_seed`` the seeds come from torch's global generator.
        """
        salt = zlib.crc32(stream.encode())
        gens = []
        for sample in self.data_samples:
            seed = sample.metainfo.get(SAMPLE_SEED)
            if seed is None:
                seed = int(torch.randint(2**31 - 1, (1,)))
            gen = torch.Generator(device=device)
            gen.manual_seed(int(np.random.SeedSequence([int(seed), salt]).generate_state(1)[0]))
            gens.append(gen)
        return gens

    def view_flips(self, name: str) -> List[bool]:
        """Whether view ``name`` ('local' / 'global2') of each image is horizontally flipped w.r.t. its source."""
        return [bool(s.metainfo.get(VIEW_META, {}).get(name, {}).get('flip', False)) for s in self.data_samples]
