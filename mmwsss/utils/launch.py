"""What tools/train.py and tools/test.py share: config loading and distributed setup without CUDA."""
import contextlib
import difflib
import os
import os.path as osp
import re
from typing import List, Optional

import torch
import torch.distributed as torch_dist
from mmengine.config import Config


def setup_distributed(cfg: Config, launcher: str) -> None:
    """Make ``launcher='pytorch'`` work on machines without CUDA (CPU training/testing with gloo).

    mmengine 0.10's ``init_dist`` calls ``torch.cuda.set_device`` and its runner wraps the model in DDP with
    ``device_ids=[LOCAL_RANK]``; both fail without a GPU. Here, when no CUDA device exists, the process group is
    initialised with gloo from the torchrun environment before the runner is built (the runner then skips its own
    ``init_dist``) and DDP gets ``device_ids=None``, which is what DDP expects for CPU modules. With CUDA nothing
    changes: the config's ``env_cfg.dist_cfg`` (nccl) is used as in MMSeg.
    """
    if launcher == 'none' or torch.cuda.is_available():
        return
    if launcher != 'pytorch':
        raise RuntimeError(f'launcher={launcher!r} without CUDA is not supported; use tools/dist_train.sh '
                           '(torchrun, launcher=pytorch) for CPU processes.')
    cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
    if not torch_dist.is_initialized():
        torch_dist.init_process_group(backend='gloo', rank=int(os.environ['RANK']),
                                      world_size=int(os.environ['WORLD_SIZE']))
    wrapper = cfg.get('model_wrapper_cfg') or dict(type='MMDistributedDataParallel')
    wrapper['device_ids'] = None
    # what the runner would pass itself without a model_wrapper_cfg (it ignores cfg.find_unused_parameters once
    # one is given)
    wrapper.setdefault('broadcast_buffers', False)
    wrapper.setdefault('find_unused_parameters', cfg.get('find_unused_parameters', False))
    cfg.model_wrapper_cfg = wrapper


def load_config(config: str, launcher: str = 'none', cfg_options: Optional[dict] = None,
                work_dir: Optional[str] = None) -> Config:
    """Load ``config`` the way MMSeg's tools do: CLI overrides merged, ``work_dir`` chosen.

    ``work_dir`` priority: the argument (``--work-dir``) > the config's ``work_dir`` > ``./work_dirs/<config name>``.

    A top-level ``data_root`` in ``cfg_options`` (``--cfg-options data_root=DIR``) reaches every dataloader's dataset:
    the configs' ``data_root`` variable is read when the config file is parsed, so without this the override would
    change nothing and training would silently run on the default data.
    """
    cfg = Config.fromfile(config)
    cfg.launcher = launcher
    if cfg_options is not None:
        cfg.merge_from_dict(cfg_options)
        if 'data_root' in cfg_options:
            explicit = {k.split('.', 1)[0] for k in cfg_options if k.endswith('.dataset.data_root')}
            _apply_data_root(cfg, cfg_options['data_root'], config, skip=explicit)
    _drop_disabled_extra_hooks(cfg)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(config))[0])
    return cfg


def all_terms_step(model_cfg) -> int:
    """The first optimizer step at which every term of a model config runs: the largest ``seg_start_iter`` or
    ``start_iter`` anywhere in it (benchmarks time that step, so no loss is left out).

    Example:
        >>> all_terms_step(dict(seg_start_iter=2001, noise_filter=dict(start_iter=8000)))
        8000
    """
    starts = []

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ('seg_start_iter', 'start_iter') and isinstance(value, int):
                    starts.append(value)
                walk(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                walk(value)

    walk(model_cfg)
    return max(starts, default=0)


def _apply_data_root(cfg: Config, data_root: str, config: str, skip=()) -> None:
    """Point ``train/val/test_dataloader.dataset.data_root`` at ``data_root`` (except the loaders in ``skip``, whose
    own ``data_root`` was given); refuse when a loader's dataset has no ``data_root`` to set (a wrapper dataset)."""
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if loader in skip:
            continue
        dataset = (cfg.get(loader) or {}).get('dataset')
        if dataset is None:
            continue
        if 'data_root' not in dataset:
            raise ValueError(f'{config}: --cfg-options data_root={data_root} cannot reach {loader}: its dataset '
                             f'({dataset.get("type")}) has no data_root; set {loader}.dataset... for the datasets it '
                             'wraps instead')
        dataset['data_root'] = data_root


#: The default hooks mmengine's runner knows; only these may be switched off with ``None`` in mmengine itself.
MMENGINE_DEFAULT_HOOKS = ('runtime_info', 'timer', 'sampler_seed', 'logger', 'param_scheduler', 'checkpoint')


def _drop_disabled_extra_hooks(cfg: Config) -> None:
    """Let ``default_hooks.<name>=None`` switch off the extra default hooks mmwsss configs add (random_state, ...).

    mmengine accepts ``None`` only for its own default hooks and asserts on any other name.
    """
    hooks = cfg.get('default_hooks')
    if hooks:
        for name in [k for k, v in hooks.items() if v is None and k not in MMENGINE_DEFAULT_HOOKS]:
            hooks.pop(name)


def build_runner(cfg: Config):
    """The runner of ``cfg``, by MMSeg's rule: through ``RUNNERS`` when the config names a ``runner_type`` (mmwsss's
    base runtime: ``WSSSRunner``), else mmengine's ``Runner``."""
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner
    return RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)


def teardown_distributed() -> None:
    """Destroy the process group at the end of a tool.

    Without it, gloo ranks can abort at interpreter exit ("terminate called without an active exception") after
    a run that finished correctly, so a launcher reports a failure for a successful job.
    """
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.barrier()
        torch_dist.destroy_process_group()


def _registered_names(scope: str, registry_name: str) -> List[str]:
    """Every name registered in ``registry_name`` of ``scope``, its parents and their other children."""
    import mmseg.registry
    from mmengine.registry import Registry
    start = next((r for r in vars(mmseg.registry).values() if isinstance(r, Registry) and r.name == registry_name),
                 None)
    if start is None:
        return []
    root = start
    while root.parent is not None:
        root = root.parent
    names, todo = set(), [root]
    while todo:
        registry = todo.pop()
        names.update(registry.module_dict)
        todo.extend(registry.children.values())
    return sorted(names)


@contextlib.contextmanager
def suggest_registered_names():
    """Add "did you mean ...?" to mmengine's ``KeyError: X is not in the mmseg::model registry`` (a typo in a type).

    Example:
        >>> with suggest_registered_names():  # doctest: +SKIP
        ...     runner = Runner.from_cfg(cfg)
        KeyError: 'WSSSVit is not in the mmseg::model registry. ... Did you mean WSSSViT?'
    """
    try:
        yield
    except KeyError as exc:
        message = str(exc.args[0]) if exc.args else ''
        match = re.match(r'(\S+) is not in the (\S+)::(\S+) registry', message)
        if not match:
            raise
        name, scope, registry_name = match.groups()
        close = difflib.get_close_matches(name, _registered_names(scope, registry_name), n=3, cutoff=0.6)
        hint = (f' Did you mean {" or ".join(close)}?' if close else
                f' No registered {registry_name} has a similar name; is the module that registers {name} imported '
                '(custom_imports)?')
        raise KeyError(message.split(' More details')[0] + hint) from None
