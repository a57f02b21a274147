"""What tools/train.py and tools/test.py share: distributed setup on machines without CUDA."""
import os

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
    cfg.model_wrapper_cfg = wrapper
