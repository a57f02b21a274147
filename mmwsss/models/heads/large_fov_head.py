"""The LargeFOV (DeepLab-v1 style) segmentation head of ToCo/MCC, as an MMSeg decode head."""
import torch.nn as nn

from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS


@MODELS.register_module()
class LargeFOVHead(BaseDecodeHead):
    """Two dilated 3x3 convs (no bias, ReLU, no norm) and a 1x1 classifier without bias (docs/methods/toco.md).

    Being a :class:`mmseg.models.decode_heads.BaseDecodeHead`, it trains through MMSeg's ``loss()`` on
    ``gt_sem_seg``: the WSSS segmentor writes its pseudo labels there, and any other MMSeg decode head can take
    its place in a config.

    Args:
        dilation (int): dilation (and padding) of the two 3x3 convs. Defaults to 5.
        **kwargs: :class:`BaseDecodeHead` arguments (``in_channels``, ``channels``, ``num_classes``,
            ``in_index``, ``loss_decode``, ...). ``dropout_ratio`` defaults to 0 (the reference has no dropout).

    Example:
        >>> head = LargeFOVHead(in_channels=768, channels=512, num_classes=21, in_index=1)
    """

    def __init__(self, dilation: int = 5, **kwargs) -> None:
        kwargs.setdefault('dropout_ratio', 0.0)
        super().__init__(**kwargs)
        self.convs = nn.Sequential(
            nn.Conv2d(self.in_channels, self.channels, 3, padding=dilation, dilation=dilation, bias=False),
            nn.ReLU(inplace=True),
            nn.Conv2d(self.channels, self.channels, 3, padding=dilation, dilation=dilation, bias=False),
            nn.ReLU(inplace=True))
        # the reference classifier has no bias
        self.conv_seg = nn.Conv2d(self.channels, self.out_channels, kernel_size=1, bias=False)

    def forward(self, inputs):
        return self.cls_seg(self.convs(self._transform_inputs(inputs)))
