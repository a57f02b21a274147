"""Start-up checks that run before any model, dataset or process group is built.

Without them a missing file is found late and deep: the pretrained weights are fetched when ``runner.train()``
initialises the model, after the dataloaders, the model and (under torchrun) the process group exist. On a node
without internet the cause (``URLError`` on rank 0) then sits in the middle of a thousand log lines, under the
config dump and torchrun's ``ChildFailedError``, while the other ranks report the lost connection.

:func:`preflight` looks at the config only (no model is built, nothing is downloaded) and returns every problem
it finds, each with the file or URL it concerns and what to do:

* pretrained weights (``init_cfg=dict(type='Pretrained', checkpoint=...)`` anywhere in the model): a local file
  must exist; a URL must already be in the download cache (:func:`mmwsss.compat.cached_download_path`) or answer a
  short request. ``MMWSSS_OFFLINE=1`` skips the request: an uncached URL is then a problem at once;
* ``load_from`` / ``--resume PATH`` (train) and the checkpoint (test): must exist;
* every dataloader the run uses: its ``data_root``, split list (``ann_file``), label file and image folder must
  exist; a missing one is named with the command that builds it.

``tools/train.py`` and ``tools/test.py`` run it on every rank before anything else and exit with one message
(printed by rank 0 only) and status 1; ``tools/dist_train.sh``/``dist_test.sh`` run it once before torchrun
starts the processes (``--preflight-only``). ``MMWSSS_PREFLIGHT=0`` switches it off.

Example:
    >>> from mmwsss.utils.launch import load_config
    >>> cfg = load_config('configs/mcc_voc.py')  # doctest: +SKIP
    >>> for problem in preflight(cfg, loaders=('train_dataloader', 'val_dataloader')):  # doctest: +SKIP
    ...     print(problem)
"""
import os
import os.path as osp
import urllib.error
import urllib.request
from typing import Iterator, List, Optional, Sequence, Tuple

__all__ = ['preflight', 'pretrained_checkpoints', 'check_weights', 'check_checkpoint', 'check_data',
           'format_problems', 'exit_on_problems', 'run_preflight', 'enabled', 'is_url']

#: seconds the reachability request of an uncached weights URL may take
PROBE_TIMEOUT = float(os.environ.get('MMWSSS_PROBE_TIMEOUT', 10))


def enabled() -> bool:
    """False when ``MMWSSS_PREFLIGHT=0`` (or ``false``/``no``/``off``)."""
    return os.environ.get('MMWSSS_PREFLIGHT', '1').strip().lower() not in ('0', 'false', 'no', 'off')


def _offline() -> bool:
    return os.environ.get('MMWSSS_OFFLINE', '0').strip().lower() in ('1', 'true', 'yes', 'on')


def is_url(path: str) -> bool:
    return isinstance(path, str) and path.startswith(('http://', 'https://'))


def pretrained_checkpoints(node, key: str = 'model') -> Iterator[Tuple[str, str]]:
    """``(config key, checkpoint)`` of every ``dict(type='Pretrained', checkpoint=...)`` under ``node``.

    Example:
        >>> model = dict(backbone=dict(init_cfg=dict(type='Pretrained', checkpoint='w.pth')), head=dict())
        >>> list(pretrained_checkpoints(model))
        [('model.backbone.init_cfg.checkpoint', 'w.pth')]
    """
    if isinstance(node, dict):
        if node.get('type') == 'Pretrained' and isinstance(node.get('checkpoint'), str):
            yield f'{key}.checkpoint', node['checkpoint']
        for name, value in node.items():
            yield from pretrained_checkpoints(value, f'{key}.{name}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from pretrained_checkpoints(value, f'{key}.{i}')


def _probe(url: str, timeout: float) -> Optional[str]:
    """None when ``url`` answers (any status but 404/410), else why not."""
    request = urllib.request.Request(url.partition('#')[0], method='HEAD')
    try:
        with urllib.request.urlopen(request, timeout=timeout):
            return None
    except urllib.error.HTTPError as exc:
        return f'HTTP {exc.code} {exc.reason}' if exc.code in (404, 410) else None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, 'reason', exc)
        return f'{type(exc).__name__}: {reason}'


def check_weights(cfg, probe_timeout: float = PROBE_TIMEOUT) -> List[str]:
    """Problems with the model's pretrained weights (see the module docstring)."""
    from mmwsss.compat import cached_download_path
    problems = []
    for key, checkpoint in pretrained_checkpoints(cfg.get('model') or {}):
        scratch = key.rsplit('.', 1)[0]
        if not is_url(checkpoint):
            if not osp.isfile(checkpoint):
                problems.append(f'pretrained weights {checkpoint} ({key}) do not exist. Point {key} at the file, or '
                                f'train from scratch with --cfg-options {scratch}=None')
            continue
        cached = cached_download_path(checkpoint)
        if osp.isfile(cached):
            continue
        reason = 'MMWSSS_OFFLINE is set' if _offline() else _probe(checkpoint, probe_timeout)
        if reason is None:
            continue  # reachable: the run downloads it into the cache
        name = osp.basename(cached)
        problems.append(
            f'pretrained weights {checkpoint} ({key}) are not in the download cache and cannot be downloaded '
            f'({reason}). Either\n'
            f'      - copy the file (fetched on a machine with internet) to {cached}\n'
            f'        (the cache is $TORCH_HOME/hub/checkpoints; TORCH_HOME defaults to ~/.cache/torch), or\n'
            f'      - use a local copy: --cfg-options {key}=/path/to/{name}, or\n'
            f'      - train from scratch: --cfg-options {scratch}=None')
    return problems


def check_checkpoint(path: Optional[str], what: str) -> List[str]:
    """A checkpoint to load (``load_from``, ``--resume PATH``, test's CHECKPOINT) must exist; URLs are left to the
    loader."""
    if not path or is_url(path) or osp.isfile(path):
        return []
    hint = ''
    if osp.isdir(path):
        hint = ' (it is a directory: give the .pth file in it, or --resume without a value for the newest one)'
    return [f'{what} {path} does not exist{hint}']


def _datasets(node) -> Iterator[dict]:
    """The leaf dataset dicts of a dataloader's ``dataset`` (through ConcatDataset/RepeatDataset wrappers)."""
    if isinstance(node, dict):
        inner = node.get('datasets', node.get('dataset'))
        if inner is not None and 'ann_file' not in node:
            yield from (d for item in (inner if isinstance(inner, (list, tuple)) else [inner]) for d in _datasets(item))
        else:
            yield node


def _build_hint(dataset: dict) -> str:
    """The command that builds a dataset's split lists and labels, from the dataset class (``how_to_build``)."""
    try:
        from mmseg.registry import DATASETS
        cls = DATASETS.get(dataset.get('type'))
    except Exception:  # an unknown type is reported later by the registry with its own suggestions
        cls = None
    how_to_build = getattr(cls, 'how_to_build', None)
    return '' if how_to_build is None else ' Build it with: ' + how_to_build(dataset.get('data_root') or '.')


def check_data(cfg, loaders: Sequence[str]) -> List[str]:
    """Problems with the data roots, split lists, label files and image folders of ``cfg[loader]`` datasets.

    A file shared by several loaders (val and test often are one dataset) is reported once, naming them all.
    """
    found = {}  # path -> (sentence before the loaders, sentence after them, [loaders])

    def add(path, before, after, where):
        found.setdefault(path, (before, after, []))[2].append(where)

    for loader in loaders:
        for dataset in _datasets((cfg.get(loader) or {}).get('dataset')):
            root = dataset.get('data_root') or ''
            where = f'{loader} ({dataset.get("type")})'
            hint = _build_hint(dataset)
            if root and not osp.isdir(root):
                add(root, f'data root {root} of', f'does not exist. Put the dataset there, or point at it with '
                    f'--cfg-options data_root=/path/to/it.{hint}', where)
                continue

            def under_root(path):
                return path if not root or osp.isabs(path) else osp.join(root, path)

            ann_file = dataset.get('ann_file')
            if isinstance(ann_file, str) and ann_file and not osp.isfile(under_root(ann_file)):
                add(under_root(ann_file), f'split list {under_root(ann_file)} of', f'does not exist.{hint}', where)
            label_file = dataset.get('label_file')
            if (dataset.get('label_source', 'file') == 'file' and isinstance(label_file, str) and label_file
                    and not osp.isfile(under_root(label_file))):
                add(under_root(label_file), f'label file {under_root(label_file)} of', f'does not exist.{hint}',
                    where)
            img_dir = (dataset.get('data_prefix') or {}).get('img_path')
            if isinstance(img_dir, str) and img_dir and not osp.isdir(under_root(img_dir)):
                add(under_root(img_dir), f'image folder {under_root(img_dir)} of', 'does not exist', where)
    return [f'{before} {" and ".join(dict.fromkeys(wheres))} {after}' for before, after, wheres in found.values()]


def preflight(cfg, loaders: Sequence[str] = ('train_dataloader', 'val_dataloader'),
              checkpoints: Sequence[Tuple[Optional[str], str]] = (), weights: bool = True) -> List[str]:
    """Every problem :mod:`mmwsss.utils.preflight` finds in ``cfg``, as one sentence each (empty: all found).

    Args:
        cfg: the loaded config (after ``--cfg-options``).
        loaders: the dataloaders the run will use.
        checkpoints: ``(path, what)`` pairs of checkpoints the run will load (e.g. ``(cfg.load_from, 'load_from')``).
        weights: check the pretrained weights (training, and tests that build the model before loading).
    """
    problems = []
    for path, what in checkpoints:
        problems += check_checkpoint(path, what)
    problems += check_data(cfg, [name for name in loaders if cfg.get(name)])
    if weights:
        problems += check_weights(cfg)
    return problems


def format_problems(problems: Sequence[str], config: str) -> str:
    """One message: what is missing and what to do, nothing else."""
    count = f'{len(problems)} problem{"s" if len(problems) > 1 else ""}'
    lines = [f'mmwsss pre-flight: {count} with {config}, found before anything was built:']
    lines += [f'  - {problem}' for problem in problems]
    lines.append('(MMWSSS_PREFLIGHT=0 skips these checks.)')
    return '\n'.join(lines)


def exit_on_problems(problems: Sequence[str], config: str) -> None:
    """Print the problems (rank 0 only, so N processes print one message) and exit with status 1."""
    import sys
    if not problems:
        return
    if int(os.environ.get('RANK', '0')) == 0:
        print(format_problems(problems, config), file=sys.stderr, flush=True)
    sys.exit(1)


def run_preflight(cfg, config: str, preflight_only: bool, needs: str, **checks) -> bool:
    """What ``tools/train.py`` and ``tools/test.py`` do: check (unless switched off), exit on problems, and with
    ``--preflight-only`` say that all is in place. Returns True when the tool should stop here.

    ``needs`` names what was checked in the all-clear line; ``checks`` are :func:`preflight`'s arguments.
    """
    if enabled():
        # before the model, the data and the process group: a missing file stops every rank with one message
        exit_on_problems(preflight(cfg, **checks), config)
    if preflight_only:
        print(f'pre-flight: {config}: {needs} it needs are in place' if enabled()
              else 'pre-flight: switched off (MMWSSS_PREFLIGHT=0)', flush=True)
    return preflight_only
