"""The few fixes the pinned OpenMMLab stack (mmengine 0.10, mmcv 2.1, mmseg 1.2) needs on current PyTorch.

Checkpoints and ``weights_only``
--------------------------------
Since torch 2.6, ``torch.load`` defaults to ``weights_only=True``: only tensors, containers and an allow-list of
globals may be unpickled, so loading a file cannot execute code. mmengine 0.10.7 calls ``torch.load`` without the
argument, and its own checkpoints hold a few non-tensor objects (the message hub's ``HistoryBuffer`` with numpy
arrays inside), so ``--resume``, ``load_from`` and ``tools/test.py`` fail on them. The fix here keeps
``weights_only=True`` and allow-lists exactly the types mmengine checkpoints hold
(:data:`MMENGINE_CHECKPOINT_GLOBALS`). A checkpoint with any other pickled object is refused with
:class:`UnsafeCheckpointError`, which names the file and the offending globals; nothing from it is executed.

mmengine's local-file and http(s) loaders are replaced (through its own ``CheckpointLoader.register_scheme``
API) by :func:`load_checkpoint_file`, which passes ``weights_only=True`` explicitly, so neither an old torch
default nor ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` can turn the check off. Downloaded weights (``init_cfg``
``Pretrained`` URLs) must pin their sha256 (:func:`pinned_sha256`) and are checked against it before every use.
"""
import hashlib
import inspect
import os
import os.path as osp
import pickle
import re
from typing import List, Optional

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

__all__ = ['MMENGINE_CHECKPOINT_GLOBALS', 'CheckpointHashError', 'UnsafeCheckpointError', 'cached_download_path',
           'load_checkpoint_file',
           'pinned_sha256', 'register_safe_checkpoint_loading']


if not hasattr(torch.serialization, 'add_safe_globals'):  # torch < 2.4
    raise ImportError(f'mmwsss needs torch >= 2.4 (found {torch.__version__}): it loads checkpoints with '
                      'weights_only=True and allow-lists mmengine\'s checkpoint types through '
                      'torch.serialization.add_safe_globals. Prebuilt mmcv 2.1 wheels exist only for torch <= 2.1; '
                      'install a newer torch and build mmcv with tools/misc/install_mmcv.sh (docs/installation.md).')


def _numpy_globals() -> List:
    """numpy types that appear when an mmengine checkpoint stores arrays (HistoryBuffer) or numpy scalars."""
    multiarray = getattr(np, '_core', None)
    multiarray = multiarray.multiarray if multiarray is not None else np.core.multiarray
    names = [multiarray._reconstruct, multiarray.scalar, np.ndarray, np.dtype]
    # numpy >= 1.25 pickles dtypes by their concrete class (numpy.dtypes.Float64DType, ...).
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        names += [getattr(dtypes, n) for n in dir(dtypes) if n.endswith('DType') and n[0].isupper()
                  and isinstance(getattr(dtypes, n), type)]
    return names


def _history_buffer_method(owner, name: str):
    """Stands in for ``builtins.getattr`` while a checkpoint is unpickled with ``weights_only=True``.

    ``HistoryBuffer.__getstate__`` stores its statistics methods (``HistoryBuffer.min`` ...), which pickle as
    ``getattr(HistoryBuffer, 'min')``. Allow-listing the real ``getattr`` would let a file reach any attribute
    of any allow-listed object, so only public functions defined on ``HistoryBuffer`` are handed out.
    """
    if (owner is HistoryBuffer and isinstance(name, str) and not name.startswith('_')
            and inspect.isfunction(inspect.getattr_static(HistoryBuffer, name, None))):
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(f'getattr({owner!r}, {name!r}) is not allowed: only the statistics methods of '
                                 'mmengine HistoryBuffer may be looked up while loading a checkpoint')


#: Everything besides tensors and containers that an mmengine 0.10 checkpoint (``CheckpointHook`` or
#: ``runner.save_checkpoint``) holds: message-hub history buffers, their statistics methods (through the
#: restricted ``getattr`` above) and the numpy arrays/scalars inside them.
MMENGINE_CHECKPOINT_GLOBALS = [HistoryBuffer, (_history_buffer_method, 'builtins.getattr')] + _numpy_globals()


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds pickled objects outside the allow-list, so it was not loaded."""


def load_checkpoint_file(filename: str, map_location=None):
    """``torch.load(filename, weights_only=True)`` with a clear error for files holding other objects.

    Args:
        filename (str): local path of the checkpoint.
        map_location: as for :func:`torch.load`.

    Raises:
        FileNotFoundError: the file does not exist.
        UnsafeCheckpointError: the file holds a pickled global that is not allow-listed; nothing was executed.

    Example:
        >>> ckpt = load_checkpoint_file('work_dirs/smoke/iter_20.pth', map_location='cpu')  # doctest: +SKIP
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} can not be found.')
    try:
        return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        try:  # torch >= 2.5 lists the offending globals
            unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(filename)
        except Exception:  # older torch, or not a zip checkpoint: keep torch's own description
            unsafe = []
        text = str(exc)
        reason = ' '.join(text.split('WeightsUnpickler error:', 1)[-1].split('Check the documentation')[0].split())
        found = ', '.join(unsafe) or reason
        raise UnsafeCheckpointError(
            f'Refused to load checkpoint {filename}: it holds pickled objects that are not tensors or '
            f'mmengine checkpoint state ({found}). mmwsss loads checkpoints with torch.load(weights_only=True), '
            'so unpickling them could run arbitrary code and was not attempted. If you trust and need this '
            'file, extract its tensors yourself (e.g. torch.load(..., weights_only=False) in a sandbox) and '
            'save a plain state_dict.') from exc


def load_from_local(filename, map_location=None):
    return load_checkpoint_file(filename, map_location)


class CheckpointHashError(RuntimeError):
    """A downloaded weight file is not pinned, or its sha256 does not match the pin; it was not loaded."""


_HASH_IN_NAME = re.compile(r'-([0-9a-f]{8,64})\.(?:pth|pt|bin|ckpt)$')


def pinned_sha256(url: str) -> Optional[str]:
    """The sha256 (or its hex prefix, >= 8 digits) a URL pins: ``#sha256=<hex>``, else the file name's
    ``-<hex>.pth`` suffix (the torch hub / OpenMMLab convention, e.g. ``..._20211124-6f40c188.pth``)."""
    base, _, fragment = url.partition('#')
    match = re.fullmatch(r'sha256=([0-9a-f]{8,64})', fragment)
    if match:
        return match.group(1)
    match = _HASH_IN_NAME.search(osp.basename(base.split('?')[0]))
    return match.group(1) if match else None


def sha256_of(path: str, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            digest.update(block)
    return digest.hexdigest()


def cached_download_path(url: str, model_dir: Optional[str] = None) -> str:
    """Where :func:`load_from_http` keeps the download of ``url``: ``<torch hub dir>/checkpoints/<file name>``.

    The hub dir is ``$TORCH_HOME/hub`` (default ``~/.cache/torch/hub``); a file copied to this path by hand is used
    without any network access (its pinned sha256 is still checked).

    Example:
        >>> cached_download_path('https://host/deit-base_20211124-6f40c188.pth', '/cache')
        '/cache/deit-base_20211124-6f40c188.pth'
    """
    from torch.hub import get_dir
    name = osp.basename(url.partition('#')[0].split('?')[0])
    return osp.join(model_dir or osp.join(get_dir(), 'checkpoints'), name)


def load_from_http(filename, map_location=None, model_dir=None, progress=os.isatty(0)):
    """Download (rank 0 first, as mmengine does) into the torch hub cache, check the pinned sha256, then load with
    weights_only.

    The hash is checked at download (a mismatching download is deleted) and again before every load of the
    cached file, so a file replaced or damaged in the cache is refused too.

    Raises:
        CheckpointHashError: the URL pins no hash, or the file does not match it.
    """
    from mmengine.dist import barrier, get_dist_info
    from torch.hub import download_url_to_file

    url = filename.partition('#')[0]
    expected = pinned_sha256(filename)
    if expected is None:
        raise CheckpointHashError(
            f'{filename} pins no sha256, so the downloaded weights could not be checked and were not loaded. Pin '
            'it: end the file name with -<first 8+ hex digits of its sha256> (torch hub convention) or append '
            '#sha256=<hex> to the URL.')
    cached = cached_download_path(filename, model_dir)
    os.makedirs(osp.dirname(cached), exist_ok=True)
    rank, world_size = get_dist_info()
    if rank == 0 and not osp.isfile(cached):
        try:  # torch verifies the prefix and deletes its temp file on a mismatch
            download_url_to_file(url, cached, hash_prefix=expected, progress=progress)
        except RuntimeError as exc:
            raise CheckpointHashError(f'the download of {url} does not match its pinned sha256 {expected}: {exc}; '
                                      'nothing was kept. Check the URL (or pin) in the config.') from exc
    if world_size > 1:
        barrier()
    actual = sha256_of(cached)
    if not actual.startswith(expected):
        raise CheckpointHashError(f'{cached} (cached download of {url}) has sha256 {actual[:len(expected)]}..., the '
                                  f'config pins {expected}: the file was damaged or replaced. Delete it to download '
                                  'it again.')
    return load_checkpoint_file(cached, map_location)


_registered = False


def register_safe_checkpoint_loading() -> None:
    """Allow-list mmengine's checkpoint types and route mmengine's file/http loading through the safe loader.

    Idempotent; ``import mmwsss`` calls it.
    """
    global _registered
    if _registered:
        return
    torch.serialization.add_safe_globals(MMENGINE_CHECKPOINT_GLOBALS)
    CheckpointLoader.register_scheme(prefixes='', loader=load_from_local, force=True)
    CheckpointLoader.register_scheme(prefixes=('http://', 'https://'), loader=load_from_http, force=True)
    _registered = True
