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


#: config keys of the layout before the structural step and where each setting lives now
LEGACY_SEGMENTOR_KEYS = {
    'high_thr': 'thr=(low, high)', 'low_thr': 'thr=(low, high)',
    'pseudo_cam': "pseudo_label=dict(cam=dict(source='final' or 'aux'))",
    'aux_pseudo_until': "pseudo_label=dict(cam=dict(source='aux', final_after=N))",
    'par': 'pseudo_label=dict(par=...)', 'par_scale': 'pseudo_label=dict(par_scale=...)',
    'cam_scales': 'cam_head=dict(scales=...)', 'num_fg_classes': 'cam_head=dict(num_classes=...)',
    'cls_loss_weight': 'cam_head=dict(loss_weight=...)', 'aux_cls_loss_weight': 'cam_head=dict(aux_loss_weight=...)',
    'projector': 'aux_losses.<ctc or mcc>.projector', 'ema_momentum': 'aux_losses.<ctc or mcc>.ema_momentum',
    'ema_interval': 'aux_losses.<ctc or mcc>.ema_interval (in optimizer steps)',
    'memory_bank': 'aux_losses.mp2m.bank (and aux_losses.mp2m.update_interval)',
}
LEGACY_MODULE_KEYS = {
    'high_thr': 'thr=(low, high) (or nothing: the segmentor\'s pair)', 'low_thr': 'thr=(low, high)',
    'cam_source': "cam='aux' / cam=dict(source=...)", 'final_cam_after': "cam=dict(source='aux', final_after=N)",
    'temperature': 'loss=dict(temperature=...)', 'loss_weight': 'loss=dict(loss_weight=...)',
}


def reject_unknown_keys(owner: str, kwargs: dict, legacy: dict) -> None:
    """Raise a ``TypeError`` naming every unknown config key of ``owner``, with its new place when it is a key of the
    old layout."""
    if not kwargs:
        return
    hints = [f'{k!r} is now {legacy[k]}' if k in legacy else f'{k!r} is not an argument' for k in sorted(kwargs)]
    raise TypeError(f'{owner}: {"; ".join(hints)} (docs/architecture.md, "Config shape", lists the old keys)')
