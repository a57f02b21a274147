# Seconds per training iteration and peak memory of a config's training step, on random weights and a batch from
# its own training pipeline (a generated tree can stand in for the dataset).
#   python tools/analysis_tools/benchmark_train_step.py configs/mcc_voc.py --data-root /path/to/VOC2012 --iters 2
# Reports peak RSS (CPU) or torch.cuda.max_memory_allocated (GPU). With --amp the step runs under autocast
# (bf16 on CPU, fp16 on CUDA) through MMEngine's AmpOptimWrapper. A model with an MSFC memory bank gets its bank
# filled from the warm-up step, so the timed steps include the memory loss.
#
# Several configs are a cost comparison on matched conditions: all models are built in one process and their steps
# alternate (--rounds R rounds of --iters steps per config), so a drift of the machine's speed (a shared VM can
# change by 1.5x within minutes) hits every config alike; the table gives each config's median and its ratio to the
# first config, and the per-round medians show whether the ratio held.
#   python tools/analysis_tools/benchmark_train_step.py \
#       configs/msfc/msfc-no-smcm_vit-tiny-p8_1xb8-700_weakshapes-96x96.py \
#       configs/msfc/msfc_vit-tiny-p8_1xb8-700_weakshapes-96x96.py --data-root data/weakshapes --iters 10 --rounds 3
# The peak memory is then that of all the models together (they stay loaded in one process).
import argparse
import os.path as osp
import resource
import statistics
import time

import torch
from mmengine.logging import MessageHub
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

import mmwsss  # noqa: F401
from mmseg.registry import MODELS
from mmwsss.models.contrast import PrototypeMemoryBank
from mmwsss.utils.launch import all_terms_step, load_config


def parse_args():
    parser = argparse.ArgumentParser(description='Time the training step of one config, or of several alternately')
    parser.add_argument('configs', nargs='+', metavar='config')
    parser.add_argument('--data-root', required=True)
    parser.add_argument('--iters', type=int, default=2, help='timed iterations per config and round, after one '
                        'warm-up step per config')
    parser.add_argument('--rounds', type=int, default=1, help='rounds of --iters steps of every config, alternating')
    parser.add_argument('--at-iter', type=int, default=None,
                        help='iteration index to simulate (default: the last start of any term, so every loss runs)')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--amp', action='store_true')
    args = parser.parse_args()
    if args.iters < 1 or args.rounds < 1:
        parser.error('--iters and --rounds must be at least 1')
    return args


class Bench:
    """One config's model, optimizer wrapper and batch, ready to run training steps."""

    def __init__(self, config, args):
        self.config = config
        cfg = load_config(config, cfg_options={
            'train_dataloader.dataset.data_root': args.data_root, 'train_dataloader.num_workers': 0,
            'train_dataloader.persistent_workers': False})
        cfg.model.backbone.init_cfg = None  # random weights: no download
        torch.manual_seed(0)  # every config starts from the same draw of the generator
        self.model = MODELS.build(cfg.model).to(args.device)
        self.model.train()
        optim_cfg = cfg.optim_wrapper.copy()
        if args.amp:
            optim_cfg.update(type='AmpOptimWrapper', dtype='bfloat16' if args.device == 'cpu' else None)
        self.optim = build_optim_wrapper(self.model, optim_cfg)
        self.data = next(iter(Runner.build_dataloader(cfg.train_dataloader, seed=0)))
        self.batch = cfg.train_dataloader.batch_size
        self.at_iter = args.at_iter if args.at_iter is not None else all_terms_step(cfg.model)
        self.device = args.device
        self.times, self.rounds, self.losses = [], [], {}

    def step(self):
        # the iteration the terms see; set before every step because another config may simulate another one
        MessageHub.get_current_instance().update_info('iter', self.at_iter)
        if self.device.startswith('cuda'):
            torch.cuda.synchronize()
        start = time.perf_counter()
        self.losses = self.model.train_step(self.data, self.optim)
        if self.device.startswith('cuda'):
            torch.cuda.synchronize()
        return time.perf_counter() - start

    def warm_up(self):
        self.step()
        bank = next((m for m in self.model.modules() if isinstance(m, PrototypeMemoryBank)), None)
        if bank is not None:
            # MSFC: fill the prototype bank from the warm-up step (as MemoryBankHook would after its interval), so
            # the timed steps run the memory loss too; classes absent from this batch stay empty
            bank.update(min_count=1)
            print(f'{self.name}: memory bank filled from the warm-up step, {int(bank.initialised.sum())}/'
                  f'{bank.num_classes} classes')

    def run_round(self, iters):
        times = [self.step() for _ in range(iters)]
        self.times += times
        self.rounds.append(statistics.median(times))

    @property
    def name(self):
        return osp.splitext(osp.basename(self.config))[0]


def main():
    args = parse_args()
    init_default_scope('mmseg')
    benches = [Bench(config, args) for config in args.configs]
    for bench in benches:
        bench.warm_up()
    for _ in range(args.rounds):
        for bench in benches:
            bench.run_round(args.iters)
    for bench in benches:
        print(f'config {bench.config}, batch {bench.batch} per process, device {args.device}, amp {args.amp}, '
              f'threads {torch.get_num_threads()}, torch {torch.__version__}, simulated iteration {bench.at_iter}')
        print('losses: ' + ', '.join(f'{k} {float(torch.as_tensor(v).detach()):.4f}' for k, v in bench.losses.items()))
        print(f'seconds per iteration: {statistics.median(bench.times):.2f} (median of {len(bench.times)})')
    if len(benches) > 1:
        first = statistics.median(benches[0].times)
        print(f'\n{args.rounds} round(s) of {args.iters} steps per config, alternating; median seconds per step\n')
        rounds = ' | '.join(f'round {r + 1}' for r in range(args.rounds))
        print(f'| config | s/iter (all rounds) | vs {benches[0].name} | {rounds} |')
        print('|---|---|---|' + '---|' * args.rounds)
        for bench in benches:
            median = statistics.median(bench.times)
            per_round = ' | '.join(f'{t:.3f}' for t in bench.rounds)
            print(f'| {bench.name} | {median:.3f} | {median / first:.2f}x | {per_round} |')
    if args.device.startswith('cuda'):
        print(f'peak GPU memory: {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB')
    else:
        print(f'peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB'
              + (' (all models of this process)' if len(benches) > 1 else ''))


if __name__ == '__main__':
    main()
