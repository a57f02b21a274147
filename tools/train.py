# Train a segmentor with mmwsss registered (MMSeg's tools/train.py interface).
import argparse
import logging
import os

from mmengine.config import DictAction
from mmengine.logging import print_log

import mmwsss  # noqa: F401  (registers mmwsss components and the safe checkpoint loader)
from mmwsss.engine import find_resumable_checkpoint
from mmwsss.utils import preflight
from mmwsss.utils.known_warnings import configure_known_warnings
from mmwsss.utils.launch import (build_runner, load_config, setup_distributed, suggest_registered_names,
                                 teardown_distributed)


def parse_args():
    parser = argparse.ArgumentParser(description='Train a segmentor (mmwsss)')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume training: from the given checkpoint, or, without a value, from the latest checkpoint in '
        'the work dir')
    parser.add_argument('--amp', action='store_true', default=False,
                        help='enable automatic-mixed-precision training')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override some settings in the used config, the key-value pair in xxx=yyy format will be merged '
        'into config file. If the value to be overwritten is a list, it should be like key="[a,b]" or key=a,b')
    parser.add_argument('--preflight-only', action='store_true',
                        help='only check that the weights, checkpoints and data the run needs exist, then exit '
                        '(what tools/dist_train.sh runs before starting the processes)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
                        help='job launcher')
    # torch.distributed.launch passes --local_rank (--local-rank on torch 2); torchrun sets LOCAL_RANK.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main():
    configure_known_warnings()  # each known library warning once, from rank 0
    args = parse_args()
    cfg = load_config(args.config, args.launcher, args.cfg_options, args.work_dir)

    if args.amp:
        optim_wrapper = cfg.optim_wrapper.type
        if optim_wrapper == 'AmpOptimWrapper':
            print_log('AMP training is already enabled in your config.', logger='current', level=logging.WARNING)
        else:
            # MMSeg's rule, plus the wrapper type of older mmwsss configs; the guard lives in the constructor
            # (FiniteGradOptimWrapperConstructor), which also guards the AMP wrapper and runs it on the CPU as bf16
            assert optim_wrapper in ('OptimWrapper', 'FiniteGradOptimWrapper'), (
                '`--amp` is only supported when the optimizer wrapper type is `OptimWrapper` but got '
                f'{optim_wrapper}.')
            if optim_wrapper == 'FiniteGradOptimWrapper':
                cfg.optim_wrapper.setdefault('constructor', 'FiniteGradOptimWrapperConstructor')
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.loss_scale = 'dynamic'

    if args.resume == 'auto':
        # the newest *complete* checkpoint of the work dir (mmengine would trust last_checkpoint blindly)
        cfg.load_from = find_resumable_checkpoint(cfg.work_dir)
        cfg.resume = cfg.load_from is not None
        print_log(f'--resume: continuing from {cfg.load_from}' if cfg.load_from else
                  f'--resume: no complete checkpoint in {cfg.work_dir}, starting from scratch', logger='current')
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume

    loaders = ['train_dataloader'] + (['val_dataloader'] if cfg.get('val_cfg') is not None else [])
    what = '--resume checkpoint' if args.resume not in (None, 'auto') else 'load_from'
    if preflight.run_preflight(cfg, args.config, args.preflight_only, 'the weights, checkpoints and data',
                               loaders=loaders, checkpoints=[(cfg.get('load_from'), what)]):
        return

    setup_distributed(cfg, args.launcher)
    with suggest_registered_names():  # components are built in from_cfg and (lazily) in train()
        runner = build_runner(cfg)
        runner.train()
    teardown_distributed()


if __name__ == '__main__':
    main()
