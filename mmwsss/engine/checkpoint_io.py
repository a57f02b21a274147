"""Checkpoints that survive being killed: atomic writes, and a resume that only picks complete files.

mmengine 0.10 writes a checkpoint with ``open(path, 'wb').write(bytes)``: a process killed during the write (OOM
killer, preempted node, Ctrl-C on a multi-GB COCO checkpoint) leaves a truncated ``iter_N.pth`` next to good ones.
:class:`AtomicLocalBackend` replaces mmengine's ``local`` file backend (the one ``save_checkpoint`` and
``mmengine.dump`` write through) with one that writes ``<path>.tmp-<pid>`` and renames it into place, which POSIX
makes atomic: a file named ``iter_N.pth`` is always complete, a kill leaves at most a ``*.tmp-*`` file that
nothing reads. ``import mmwsss`` registers it (:func:`register_atomic_local_backend`).

:func:`find_resumable_checkpoint` is what ``tools/train.py --resume`` (without a path) uses instead of mmengine's
``find_latest_checkpoint``: it trusts ``last_checkpoint`` only when it names a complete checkpoint, and otherwise
falls back to the newest complete ``iter_*.pth`` / ``epoch_*.pth`` in the work dir.
"""
import glob
import os
import os.path as osp
import re
import zipfile
from pathlib import Path
from typing import Optional, Union

import mmengine
from mmengine.fileio import LocalBackend
from mmengine.fileio import io as mmengine_io
from mmengine.fileio.backends import register_backend

__all__ = ['AtomicLocalBackend', 'register_atomic_local_backend', 'is_complete_checkpoint',
           'find_resumable_checkpoint', 'checkpoint_due']


def write_atomic(data: Union[bytes, str], path: Union[str, Path], encoding: str = 'utf-8') -> None:
    """Write ``data`` to ``<path>.tmp-<pid>``, flush it to disk, then rename it to ``path``."""
    path = str(path)
    tmp = f'{path}.tmp-{os.getpid()}'
    mode, kwargs = ('wb', {}) if isinstance(data, bytes) else ('w', {'encoding': encoding})
    try:
        with open(tmp, mode, **kwargs) as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend whose ``put``/``put_text`` never leave a partly written file."""

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        mmengine.mkdir_or_exist(osp.dirname(str(filepath)) or '.')
        write_atomic(obj, filepath)

    def put_text(self, obj: str, filepath: Union[str, Path], encoding: str = 'utf-8') -> None:
        mmengine.mkdir_or_exist(osp.dirname(str(filepath)) or '.')
        write_atomic(obj, filepath, encoding=encoding)


def register_atomic_local_backend() -> None:
    """Make :class:`AtomicLocalBackend` mmengine's backend for local paths (idempotent)."""
    register_backend('local', AtomicLocalBackend, force=True, prefixes='')
    # get_file_backend caches instances per (prefix, args): drop cached plain local backends
    for key, backend in list(mmengine_io.backend_instances.items()):
        if type(backend) is LocalBackend:
            del mmengine_io.backend_instances[key]


def is_complete_checkpoint(path: str) -> bool:
    """True when ``path`` is a readable torch zip checkpoint (its central directory, at the end, is intact).

    A truncated zip file has no end-of-central-directory record, so this rejects a half-written checkpoint
    without unpickling anything.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            return any(name.endswith('data.pkl') for name in zf.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


def _step(path: str) -> int:
    match = re.search(r'(?:iter|epoch)_(\d+)\.pth$', path)
    return int(match.group(1)) if match else -1


def find_resumable_checkpoint(work_dir: str, logger=None) -> Optional[str]:
    """The checkpoint ``--resume`` should continue from, or None when the work dir has none.

    ``last_checkpoint`` (written by ``CheckpointHook``) wins when it names a complete checkpoint; otherwise the
    complete ``iter_*.pth`` / ``epoch_*.pth`` with the highest step does. Incomplete files are reported, never used.
    """
    def say(msg):
        (logger.warning if logger is not None else print)(msg)

    candidates = []
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer, encoding='utf-8') as f:
            named = f.read().strip()
        if named and is_complete_checkpoint(named):
            return named
        say(f'{pointer} names {named!r}, which is missing or incomplete; looking for the newest complete '
            'checkpoint in the work dir instead')
    candidates = sorted(glob.glob(osp.join(work_dir, 'iter_*.pth')) + glob.glob(osp.join(work_dir, 'epoch_*.pth')),
                        key=_step, reverse=True)
    for path in candidates:
        if is_complete_checkpoint(path):
            return path
        say(f'skipping incomplete checkpoint {path}')
    return None


def checkpoint_due(runner) -> bool:
    """Whether the runner's ``CheckpointHook`` saves after the current training iteration (same rule it uses).

    Hooks that must put per-process state into the checkpoint gather it in ``after_train_iter`` (a collective
    on every rank), because ``before_save_checkpoint`` runs on rank 0 only.
    """
    from mmengine.hooks import CheckpointHook
    for hook in getattr(runner, 'hooks', ()):  # a runner without hooks never checkpoints
        if isinstance(hook, CheckpointHook):
            if hook.by_epoch:
                return False  # iteration-based WSSS loops only; epoch loops save in after_train_epoch
            return bool(hook.every_n_train_iters(runner, hook.interval, hook.save_begin)
                        or (hook.save_last and hook.is_last_train_iter(runner)))
    return False
