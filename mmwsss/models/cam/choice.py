"""Which CAM a term reads: the final-layer CAM, the auxiliary-layer CAM, or the aux CAM until a step, then the final.

ToCo and its successors compute two CAMs per step (final tokens and an intermediate "aux" layer) and each term
reads one of them on its own schedule: PTC always the aux CAM; ToCo's CTC the aux CAM; MCC VOC the aux CAM until
step 12000, then the final CAM; COCO pseudo labels the aux CAM until step 12000. One spelling for all of them::

    cam=dict(source='aux', final_after=12000)   # aux CAM for steps <= 12000, final CAM after
    cam=dict(source='final')                    # final CAM throughout
"""
from typing import Optional, Union

import torch

SOURCES = ('final', 'aux')


class CAMChoice:
    """``source`` ('final' or 'aux') and, for 'aux', an optional optimizer step ``final_after`` after which the
    final CAM is used.

    Example:
        >>> choice = CAMChoice.build(dict(source='aux', final_after=10))
        >>> choice.use_final(10), choice.use_final(11)
        (False, True)
        >>> CAMChoice.build('final')
        CAMChoice(source='final', final_after=None)
    """

    def __init__(self, source: str = 'final', final_after: Optional[int] = None) -> None:
        if source not in SOURCES:
            raise ValueError(f"cam source must be 'final' or 'aux', got {source!r}")
        if source == 'final' and final_after is not None:
            raise ValueError("final_after switches from the aux to the final CAM; it needs source='aux'")
        self.source, self.final_after = source, final_after

    @classmethod
    def build(cls, cfg: Union[None, str, dict, 'CAMChoice']) -> 'CAMChoice':
        """From a config value: a dict (``source``, ``final_after``), a source string, a CAMChoice, or None
        ('final')."""
        if cfg is None:
            return cls()
        if isinstance(cfg, CAMChoice):
            return cfg
        if isinstance(cfg, str):
            return cls(cfg)
        if isinstance(cfg, dict):
            unknown = set(cfg) - {'source', 'final_after'}
            if unknown:
                raise KeyError(f'cam config keys are source and final_after, got {sorted(unknown)}')
            return cls(**cfg)
        raise TypeError(f'cam must be a dict(source=..., final_after=...), got {type(cfg).__name__}')

    def use_final(self, step: int) -> bool:
        """Whether optimizer step ``step`` reads the final CAM."""
        return self.source == 'final' or (self.final_after is not None and step > self.final_after)

    def pick(self, cam: torch.Tensor, aux_cam: torch.Tensor, step: int) -> torch.Tensor:
        """``cam`` or ``aux_cam`` for ``step``."""
        return cam if self.use_final(step) else aux_cam

    def __repr__(self) -> str:
        return f'CAMChoice(source={self.source!r}, final_after={self.final_after!r})'
