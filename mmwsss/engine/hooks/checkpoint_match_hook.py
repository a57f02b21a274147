"""Refuse checkpoints that do not belong to the model they are loaded into."""
import logging
import re
from typing import Dict, List

from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import BaseTTAModel, is_model_wrapper

from mmseg.registry import HOOKS


def _saved_model_description(checkpoint: dict) -> str:
    """'a <segmentor> with <backbone> and <head>' from the config string mmengine stores in the checkpoint."""
    try:
        model = Config.fromstring(checkpoint['meta']['config'], file_format='.py').model
        parts = [model.get('type'), model.get('backbone', {}).get('type'), model.get('decode_head', {}).get('type')]
        return ' (saved from a ' + ' / '.join(p for p in parts if p) + ')'
    except Exception:
        return ''


def compare_state_dicts(model_state: Dict, ckpt_state: Dict):
    """``(missing, unexpected, mismatched)`` keys; mismatched are ``(key, model_shape, ckpt_shape)``."""
    ckpt_state = {re.sub(r'^module\.', '', k): v for k, v in ckpt_state.items()}
    missing = [k for k in model_state if k not in ckpt_state]
    unexpected = [k for k in ckpt_state if k not in model_state]
    mismatched = [(k, tuple(v.shape), tuple(ckpt_state[k].shape)) for k, v in model_state.items()
                  if k in ckpt_state and hasattr(ckpt_state[k], 'shape') and tuple(v.shape) != tuple(ckpt_state[k].shape)]
    return missing, unexpected, mismatched


def _few(items: List, n: int = 4) -> str:
    return ', '.join(map(str, items[:n])) + (f', ... ({len(items)} in all)' if len(items) > n else '')


def check_checkpoint_matches(model, checkpoint: dict, name: str, min_match: float = 0.5, exact: bool = False,
                             logger=None) -> None:
    """Raise ``RuntimeError`` when ``checkpoint['state_dict']`` does not belong to ``model`` (rules: the hook's).

    Args:
        model (nn.Module): the unwrapped model.
        checkpoint (dict): a loaded mmengine checkpoint.
        name (str): how to name the checkpoint in messages (its path).
        min_match (float): fraction of the model's tensors that must match by name and shape (``exact=False``).
        exact (bool): require every tensor, no extra ones, same shapes (resume).
        logger: where partial matches are reported (a warning); None for ``print_log``.
    """
    model_state = model.state_dict()
    ckpt_state = checkpoint['state_dict']
    if hasattr(model, 'aux_losses') and hasattr(model, 'cam_head'):  # a WeakSegmentor: accept the old layout's keys
        from ...models.segmentors.legacy_keys import upgrade_state_dict
        ckpt_state = dict(ckpt_state)
        upgrade_state_dict(ckpt_state, model)
    missing, unexpected, mismatched = compare_state_dicts(model_state, ckpt_state)
    saved = _saved_model_description(checkpoint)
    details = '; '.join(s for s in (
        f'{len(missing)} of the model\'s {len(model_state)} tensors missing ({_few(missing)})' if missing else '',
        f'{len(unexpected)} unexpected ({_few(unexpected)})' if unexpected else '',
        f'{len(mismatched)} with other shapes (' + _few([f'{k}: model {m} vs checkpoint {c}'
                                                         for k, m, c in mismatched], 3) + ')'
        if mismatched else '') if s)
    if exact:
        if details:
            raise RuntimeError(f'cannot resume from {name}{saved}: it does not match {type(model).__name__}: '
                               f'{details}. Resume needs the checkpoint of this very config; use load_from '
                               'to start a new run from other weights.')
        return
    matched = len(model_state) - len(missing) - len(mismatched)
    if matched < min_match * len(model_state):
        raise RuntimeError(f'{name}{saved} is not a checkpoint of this {type(model).__name__}: only {matched} '
                           f'of its {len(model_state)} tensors match by name and shape ({details}). Check the '
                           'checkpoint path and the config (backbone arch, embed dims, heads).')
    if details:
        message = f'CheckpointMatchHook: {name} partly matches the model: {details}'
        logger.warning(message) if logger is not None else print_log(message, logger='current',
                                                                     level=logging.WARNING)


@HOOKS.register_module()
class CheckpointMatchHook(Hook):
    """Checks a checkpoint against the model before mmengine loads it (``after_load_checkpoint``).

    mmengine loads ``load_from`` and ``--resume`` checkpoints with ``strict=False``: a checkpoint of another
    architecture loads the few tensors whose names happen to match, logs a warning and the run goes on with a
    mostly random model (or ``tools/test.py`` reports its near-zero mIoU). Rules:

    * ``--resume``: the checkpoint must hold exactly the model's tensors with the same shapes, and the same class
      list as the training dataset (resuming onto another model or dataset is never intended);
    * ``load_from`` (fine-tuning, testing): at least ``min_match`` of the model's tensors must be present with the
      same shape; below that it is another architecture. Above it, differences are logged as a warning (e.g. a
      new decode head for another class count).

    Args:
        min_match (float): fraction of the model's tensors a ``load_from`` checkpoint must provide. Defaults to 0.5.
    """
    priority = 'VERY_HIGH'

    def __init__(self, min_match: float = 0.5) -> None:
        self.min_match = float(min_match)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if 'state_dict' not in checkpoint:
            return  # not an mmengine checkpoint (e.g. a bare state dict): mmengine's own loader reports it
        model = runner.model
        # mmengine loads into the wrapped model: DDP's and the test-time-augmentation wrapper's .module
        while is_model_wrapper(model) or isinstance(model, BaseTTAModel):
            model = model.module
        name = runner._load_from or 'the checkpoint'
        check_checkpoint_matches(model, checkpoint, name, min_match=self.min_match, exact=runner._resume,
                                 logger=runner.logger)
        if runner._resume:
            self._check_classes(runner, checkpoint, name)

    @staticmethod
    def _check_classes(runner, checkpoint: dict, name: str) -> None:
        saved = (checkpoint.get('meta', {}).get('dataset_meta') or {}).get('classes')
        current = (getattr(runner.train_dataloader.dataset, 'metainfo', None) or {}).get('classes')
        if saved is not None and current is not None and tuple(saved) != tuple(current):
            raise RuntimeError(f'cannot resume from {name}: it was trained on classes {_few(list(saved), 6)}, the '
                               f'training dataset has {_few(list(current), 6)}')
