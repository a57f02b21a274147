"""Checkpoints written before the CAM head, the projectors and the memory bank moved into their own modules.

Until the structural step the segmentor held ``classifier``/``aux_classifier`` (now ``cam_head.*``), one
``projector``/``projector_teacher`` (now owned by the class-token contrast module, ``aux_losses.<name>.*``) and
``memory_bank`` (now owned by MP2M, ``aux_losses.<name>.bank.*``). :func:`upgrade_state_dict` renames those keys so
old checkpoints load, in ``WeakSegmentor._load_from_state_dict`` and in
:class:`~mmwsss.engine.hooks.CheckpointMatchHook`'s check.
"""
from typing import List, MutableMapping, Tuple


def legacy_renames(segmentor) -> List[Tuple[str, str]]:
    """``(old prefix, new prefix)`` pairs for ``segmentor``'s modules (the first module of each kind)."""
    from ..contrast import ClassTokenContrast, MemoryPrototypeContrast
    renames = [('classifier.', 'cam_head.classifier.'), ('aux_classifier.', 'cam_head.aux_classifier.')]
    kinds = {}
    for name, module in segmentor.aux_losses.items():
        for kind in (ClassTokenContrast, MemoryPrototypeContrast):
            if isinstance(module, kind):
                kinds.setdefault(kind, name)
    if ClassTokenContrast in kinds:
        name = kinds[ClassTokenContrast]
        renames += [('projector.', f'aux_losses.{name}.projector.'),
                    ('projector_teacher.', f'aux_losses.{name}.projector_teacher.')]
    if MemoryPrototypeContrast in kinds:
        renames.append(('memory_bank.', f'aux_losses.{kinds[MemoryPrototypeContrast]}.bank.'))
    return renames


def upgrade_state_dict(state_dict: MutableMapping, segmentor, prefix: str = '') -> List[str]:
    """Rename the old keys of ``state_dict`` (under ``prefix``) in place; returns the renamed old keys.

    A key is renamed only when its new name is absent, so a current checkpoint passes unchanged.
    """
    renamed = []
    for old, new in legacy_renames(segmentor):
        for key in [k for k in state_dict if k.startswith(prefix + old)]:
            target = prefix + new + key[len(prefix + old):]
            if target not in state_dict:
                state_dict[target] = state_dict.pop(key)
                renamed.append(key)
    return renamed
