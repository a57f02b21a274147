"""Save every process's random-number state with the checkpoint and restore it on ``--resume``."""
import random
from typing import List, Optional

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_dist_info
from mmengine.hooks import Hook

from mmseg.registry import HOOKS

from ..checkpoint_io import checkpoint_due


def capture_random_state() -> dict:
    """Python, numpy, torch CPU (and CUDA, when present) generator states of this process."""
    state = dict(python=random.getstate(), numpy=np.random.get_state(), torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def restore_random_state(state: dict) -> None:
    random.setstate(_as_python_state(state['python']))
    np.random.set_state(tuple(state['numpy']))
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


def _as_python_state(state):
    """random.setstate wants (version, tuple_of_ints, gauss); a checkpoint round-trip may give lists."""
    version, internal, gauss = state
    return version, tuple(internal), gauss


def _to_plain(state: dict) -> dict:
    """Tensors and plain containers only, so the checkpoint stays loadable with ``weights_only=True``."""
    version, internal, gauss = state['python']
    name, keys, pos, has_gauss, cached = state['numpy']
    plain = dict(python=[version, torch.tensor(internal, dtype=torch.int64), gauss],
                 numpy=[name, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss), float(cached)],
                 torch=state['torch'].clone())
    if 'cuda' in state:
        plain['cuda'] = [s.clone() for s in state['cuda']]
    return plain


def _from_plain(plain: dict) -> dict:
    version, internal, gauss = plain['python']
    name, keys, pos, has_gauss, cached = plain['numpy']
    state = dict(python=(version, tuple(int(v) for v in internal.tolist()), gauss),
                 numpy=(name, keys.numpy().astype(np.uint32), pos, has_gauss, cached), torch=plain['torch'])
    if 'cuda' in plain:
        state['cuda'] = plain['cuda']
    return state


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Makes ``--resume`` continue each process's random streams where the checkpointed run left them.

    mmengine re-seeds every process at start-up and does not store generator states, so a resumed run would draw
    different dropout / drop-path masks (and anything else that uses the global generators) than the run it
    continues. In every iteration whose end ``CheckpointHook`` saves, this hook gathers the states of all ranks
    (a collective: ``before_save_checkpoint`` runs on rank 0 only) and stores them in ``checkpoint['rng_states']``
    as tensors (loadable with ``weights_only=True``). After ``runner.resume`` each rank gets its own state back
    at the start of the first resumed iteration.

    The training data does not depend on this hook: :class:`~mmwsss.datasets.SeededInfiniteSampler` gives every
    sample its own seed, and the WSSS losses draw their random views from per-sample generators. If the number
    of processes changed since the checkpoint, the states are not restored (a warning says so) and the run
    continues with fresh ones.

    Priority ``LOW``: after ``MemoryBankHook`` (``NORMAL``) and before ``CheckpointHook`` (``VERY_LOW``).
    """
    priority = 'LOW'

    def __init__(self) -> None:
        self._gathered: Optional[List[dict]] = None
        self._pending: Optional[List[dict]] = None

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._gathered = None
        if checkpoint_due(runner):
            self._gathered = all_gather_object(_to_plain(capture_random_state()))

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self._gathered is not None:
            checkpoint['rng_states'] = self._gathered

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        # load_checkpoint is also used for load_from (fine-tuning) and tests; only a resume continues the streams
        self._pending = checkpoint.get('rng_states') if runner._resume else None

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if self._pending is None:
            return
        states, self._pending = self._pending, None
        rank, world_size = get_dist_info()
        if len(states) != world_size:
            runner.logger.warning(f'RandomStateHook: the checkpoint holds random states of {len(states)} processes, '
                                  f'this run has {world_size}; continuing with freshly seeded generators')
            return
        restore_random_state(_from_plain(states[rank]))
        runner.logger.info(f'RandomStateHook: restored the random state of {world_size} process(es)')
