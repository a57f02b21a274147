"""DINO-style projection head used by the class-token contrast of ToCo (CTC) and MCC."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from mmseg.registry import MODELS


@MODELS.register_module()
class DINOProjectionHead(BaseModule):
    """MLP (in -> hidden -> hidden -> bottleneck, GELU), L2 normalisation, weight-normalised linear without bias.

    The last layer's weight norm ``g`` is fixed to 1 (not trained), so its output is the cosine-like projection
    of a unit vector onto ``out_dims`` unit prototypes (docs/methods/toco.md, CTC). Weights: trunc-normal, std 0.02.

    Args:
        in_dims (int): input (class token) dims. Defaults to 768.
        hidden_dims (int): MLP width. Defaults to 2048.
        bottleneck_dims (int): dims before the last layer. Defaults to 256.
        out_dims (int): output dims. Defaults to 1024.

    Example:
        >>> head = DINOProjectionHead(in_dims=8, hidden_dims=16, bottleneck_dims=4, out_dims=10)
        >>> head(torch.randn(3, 8)).shape
        torch.Size([3, 10])
    """

    def __init__(self, in_dims: int = 768, hidden_dims: int = 2048, bottleneck_dims: int = 256,
                 out_dims: int = 1024, init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.mlp = nn.Sequential(
            nn.Linear(in_dims, hidden_dims), nn.GELU(),
            nn.Linear(hidden_dims, hidden_dims), nn.GELU(),
            nn.Linear(hidden_dims, bottleneck_dims))
        self.last_weight = nn.Parameter(torch.empty(out_dims, bottleneck_dims))
        self._init()

    def _init(self) -> None:
        for m in self.mlp:
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)
        nn.init.trunc_normal_(self.last_weight, std=0.02)

    def init_weights(self) -> None:
        # keep the trunc-normal init of the constructor (MMEngine would otherwise re-init nothing here)
        super().init_weights()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.normalize(self.mlp(x), dim=-1)
        return F.linear(x, F.normalize(self.last_weight, dim=1))
