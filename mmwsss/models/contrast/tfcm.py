"""MSFC's TFCM (token feature contrast module): ToCo's PTC and CTC together, nothing more.

MSFC names the pair of ToCo's token-level terms it keeps unchanged "TFCM": patch-token contrast on the final tokens
(:class:`~mmwsss.models.contrast.PatchTokenContrast`, ``ptc``) and class-token contrast of local crops against the
global views (:class:`~mmwsss.models.contrast.LocalCropContrast`, ``ctc``). There is no TFCM code of its own: a
config that has TFCM has both entries in ``aux_losses`` (``configs/_base_/models/msfc_*.py``), and
:func:`has_tfcm` checks that a config's ``aux_losses`` hold them. See docs/methods/msfc.md.
"""
from typing import Mapping

#: the ``aux_losses`` entries that make up TFCM, and their registered types
TFCM_TERMS = {'ptc': 'PatchTokenContrast', 'ctc': 'LocalCropContrast'}


def has_tfcm(aux_losses: Mapping) -> bool:
    """Whether an ``aux_losses`` config dict holds both TFCM terms with their types.

    Example:
        >>> has_tfcm(dict(ptc=dict(type='PatchTokenContrast'), ctc=dict(type='LocalCropContrast')))
        True
        >>> has_tfcm(dict(ptc=dict(type='PatchTokenContrast'), mcc=dict(type='MaskedViewContrast')))
        False
    """
    return all((aux_losses.get(k) or {}).get('type') == t for k, t in TFCM_TERMS.items())
