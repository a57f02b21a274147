# Seconds per training iteration and peak memory of a config's training step, on random weights and a batch from
# its own training pipeline (a generated tree can stand in for the dataset).
#   python tools/analysis_tools/benchmark_train_step.py configs/mcc_voc.py --data-root /path/to/VOC2012 --iters 2
# Reports peak RSS (CPU) or torch.cuda.max_memory_allocated (GPU). With --amp the step runs under autocast
# (bf16 on CPU, fp16 on CUDA) through MMEngine's AmpOptimWrapper. A model with an MSFC memory bank gets its bank
# filled from the warm-up step, so the timed steps include the memory loss.
import argparse
import resource
import time

import torch
from mmengine.logging import MessageHub
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

import mmwsss  # noqa: F401
from mmseg.registry import MODELS
from mmwsss.utils.launch import all_terms_step, load_config


def parse_args():
    parser = argparse.ArgumentParser(description='Time one config\'s training step')
    parser.add_argument('config')
    parser.add_argument('--data-root', required=True)
    parser.add_argument('--iters', type=int, default=2, help='timed iterations after one warm-up')
    parser.add_argument('--at-iter', type=int, default=None,
                        help='iteration index to simulate (default: the last start of any term, so every loss runs)')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--amp', action='store_true')
    return parser.parse_args()


def main():
    args = parse_args()
    init_default_scope('mmseg')
    cfg = load_config(args.config, cfg_options={
        'train_dataloader.dataset.data_root': args.data_root, 'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False})
    cfg.model.backbone.init_cfg = None  # random weights: no download
    model = MODELS.build(cfg.model).to(args.device)
    model.train()
    optim_cfg = cfg.optim_wrapper.copy()
    if args.amp:
        optim_cfg.update(type='AmpOptimWrapper', dtype='bfloat16' if args.device == 'cpu' else None)
    optim = build_optim_wrapper(model, optim_cfg)
    loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    data = next(iter(loader))
    hub = MessageHub.get_current_instance()
    hub.update_info('iter', args.at_iter if args.at_iter is not None else all_terms_step(cfg.model))
    times = []
    from mmwsss.models.contrast import PrototypeMemoryBank
    bank = next((m for m in model.modules() if isinstance(m, PrototypeMemoryBank)), None)
    for i in range(args.iters + 1):
        if args.device.startswith('cuda'):
            torch.cuda.synchronize()
        start = time.perf_counter()
        losses = model.train_step(data, optim)
        if args.device.startswith('cuda'):
            torch.cuda.synchronize()
        if i:
            times.append(time.perf_counter() - start)
        elif bank is not None:
            # MSFC: fill the prototype bank from the warm-up step (as MemoryBankHook would after its interval), so
            # the timed steps run the memory loss too; classes absent from this batch stay empty
            bank.update(min_count=1)
            print(f'memory bank: filled from the warm-up step, {int(bank.initialised.sum())}/'
                  f'{bank.num_classes} classes')
    batch = cfg.train_dataloader.batch_size
    print(f'config {args.config}, batch {batch} per process, device {args.device}, amp {args.amp}, '
          f'threads {torch.get_num_threads()}, torch {torch.__version__}')
    print('losses: ' + ', '.join(f'{k} {float(torch.as_tensor(v).detach()):.4f}' for k, v in losses.items()))
    print(f'seconds per iteration: {sorted(times)[len(times) // 2]:.2f} (median of {len(times)})')
    if args.device.startswith('cuda'):
        print(f'peak GPU memory: {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB')
    else:
        print(f'peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB')


if __name__ == '__main__':
    main()
