# One command for the GPU figures of every method: training-step speed, memory, bf16 vs fp32, MCC's masked views,
# FLOPs and MFU. Random weights and a generated image tree: no dataset, no download.
#
#   python tools/analysis_tools/benchmark_gpu.py                     # every configs/<method>_voc.py, on CUDA
#   python tools/analysis_tools/benchmark_gpu.py --small --device cpu  # the WeakShapes configs (what the tests run)
#
# For each config, at its own per-GPU batch (train_dataloader.batch_size) and crop, with every loss active
# (the iteration is set to the segmentation start; an MSFC bank is filled from the warm-up step):
#   - seconds per training iteration (forward + backward + optimizer step; median of --iters after --warmup) and
#     images/s, in fp32 and under bf16 autocast (mmengine's AmpOptimWrapper with dtype bfloat16 on CUDA, the
#     bf16 CPUAmpOptimWrapper on the CPU); peak CUDA memory (max_memory_allocated) or the process's peak RSS;
#   - the model FLOPs of one step (torch.utils.flop_counter: matmuls, convolutions, attention; forward + backward)
#     and the MFU of the bf16 step against the device's dense bf16 peak (a table of known GPUs, or --peak-tflops);
#   - for configs with MCC's masked views: forward + backward of the views alone, on visible tokens only (what
#     mmwsss runs) and key-masked over the full sequence (the reference's formulation).
# Prints one table and writes JSON (--out). On an H100/H200 the default run takes a few minutes.
import argparse
import glob
import json
import os
import os.path as osp
import platform
import resource
import statistics
import sys
import tempfile
import time

import numpy as np
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

#: dense bf16 tensor-core peak, TFLOP/s, by a substring of torch.cuda.get_device_name() (first match wins)
BF16_PEAK_TFLOPS = (('H200', 989.4), ('H100 PCIe', 756.0), ('H100', 989.4), ('H800', 989.4), ('GH200', 989.4),
                    ('A100', 312.0), ('A800', 312.0), ('L40S', 362.1), ('L40', 181.0), ('A10G', 70.0),
                    ('RTX 4090', 165.2), ('RTX 3090', 71.0))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='GPU benchmark of the methods\' training step (random weights)')
    parser.add_argument('configs', nargs='*', help='default: every configs/<method>_voc.py (with --small: the '
                        'methods\' WeakShapes configs)')
    parser.add_argument('--small', action='store_true', help='the WeakShapes configs (tiny ViT, 96 px): for CPUs')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--iters', type=int, default=5, help='timed iterations per precision')
    parser.add_argument('--warmup', type=int, default=2, help='untimed iterations first (CUDA kernels, allocator)')
    parser.add_argument('--batch-size', type=int, default=None, help='override the configs\' per-GPU batch')
    parser.add_argument('--peak-tflops', type=float, default=None, help='bf16 peak of the device (default: table)')
    parser.add_argument('--out', default='work_dirs/benchmark_gpu.json')
    return parser.parse_args(argv)


def default_configs(small: bool):
    """Every method alias configs/<method>_voc.py, or with ``small`` its configs/<method>/<method>_*weakshapes*.py."""
    aliases = sorted(glob.glob(osp.join(REPO, 'configs', '*_voc.py')))
    if not small:
        return [osp.relpath(p, REPO) for p in aliases]
    out = []
    for alias in aliases:
        method = osp.basename(alias)[:-len('_voc.py')]
        found = sorted(glob.glob(osp.join(REPO, 'configs', method, f'{method}_*weakshapes*.py')))
        if found:
            out.append(osp.relpath(found[0], REPO))
    return out


def write_tree(cfg, root: str, num: int = 8) -> None:
    """A tree the config's training dataset can read: random images, its split list and a label file."""
    from PIL import Image

    from mmwsss.datasets.image_labels import save_label_file
    ds = cfg.train_dataloader.dataset
    if ds.type == 'WeakShapesDataset':
        from mmwsss.datasets import generate_weakshapes
        generate_weakshapes(root, num_train=num, num_val=2, seed=0, progress=False)
        return
    rng = np.random.default_rng(0)
    img_dir = osp.join(root, ds.data_prefix['img_path'])
    os.makedirs(img_dir, exist_ok=True)
    stems = [f'img_{i:04d}' for i in range(num)]
    num_fg = cfg.model.decode_head.num_classes - 1
    labels = {}
    for stem in stems:
        Image.fromarray(rng.integers(0, 256, (375, 500, 3), dtype=np.uint8)).save(osp.join(img_dir, stem + '.jpg'))
        label = np.zeros(num_fg, np.float32)
        label[rng.choice(num_fg, size=int(rng.integers(1, 4)), replace=False)] = 1
        labels[stem] = label
    ann = osp.join(root, ds.ann_file)
    os.makedirs(osp.dirname(ann), exist_ok=True)
    with open(ann, 'w') as f:
        f.write('\n'.join(stems) + '\n')
    save_label_file(osp.join(root, ds.get('label_file', 'cls_labels_onehot.npy')), labels)


def sync(device):
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def peak_memory_gib(device):
    if device.type == 'cuda':
        return torch.cuda.max_memory_allocated(device) / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def build(cfg, device, amp: bool):
    from mmengine.optim import build_optim_wrapper

    from mmseg.registry import MODELS
    model = MODELS.build(cfg.model).to(device).train()
    optim_cfg = cfg.optim_wrapper.copy()
    if amp:  # what --amp does, in bf16 (no loss scaler needed); on the CPU the constructor picks CPUAmpOptimWrapper
        optim_cfg.update(type='AmpOptimWrapper', dtype='bfloat16', loss_scale='dynamic')
    return model, build_optim_wrapper(model, optim_cfg)


def time_steps(model, optim, data, device, iters, warmup):
    from mmwsss.models.contrast import PrototypeMemoryBank
    bank = next((m for m in model.modules() if isinstance(m, PrototypeMemoryBank)), None)
    times, losses = [], {}
    for i in range(warmup + iters):
        sync(device)
        start = time.perf_counter()
        losses = model.train_step(data, optim)
        sync(device)
        if i >= warmup:
            times.append(time.perf_counter() - start)
        elif i == 0 and bank is not None:
            bank.update(min_count=1)  # MSFC: the memory loss runs in the timed steps too
    return statistics.median(times), {k: float(torch.as_tensor(v).detach().float()) for k, v in losses.items()}


def count_flops(model, optim, data):
    """FLOPs of one training step (forward + backward) counted by torch's FlopCounterMode."""
    from torch.utils.flop_counter import FlopCounterMode
    counter = FlopCounterMode(display=False)
    with counter:
        model.train_step(data, optim)
    return counter.get_total_flops()


def masked_views(model, cfg, device, iters, warmup):
    """(visible-only s, key-masked s, views, visible fraction) of MCC's masked views at the crop size, or None."""
    from mmwsss.models.contrast.mcc import MaskedViewContrast, generate_block_masks
    mcc = next((m for m in model.modules() if isinstance(m, MaskedViewContrast)), None)
    if mcc is None:
        return None
    backbone = model.backbone
    size = cfg.model.data_preprocessor.size
    patch = backbone.patch_embed.projection.kernel_size[0]
    grid = (size[0] // patch, size[1] // patch)
    batch = cfg.train_dataloader.batch_size
    g = torch.Generator().manual_seed(0)
    keep = generate_block_masks(batch, mcc.num_views, grid, block=mcc.block, mask_prob=mcc.mask_prob,
                                min_visible_blocks=mcc.min_visible_blocks, generator=g).flatten(0, 1).flatten(1)
    keep = keep.to(device)
    x = torch.randn(batch * mcc.num_views, 3, *size, device=device)
    out = {}
    for name, fn, mask in (('visible', backbone.forward_visible, keep),
                           ('key_masked', backbone.forward_key_masked, ~keep)):
        times = []
        for i in range(warmup + iters):
            backbone.zero_grad(set_to_none=True)
            sync(device)
            start = time.perf_counter()
            fn(x, mask).float().sum().backward()
            sync(device)
            if i >= warmup:
                times.append(time.perf_counter() - start)
        out[name] = statistics.median(times)
    backbone.zero_grad(set_to_none=True)
    return out['visible'], out['key_masked'], batch * mcc.num_views, float(keep.float().mean())


def device_peak(device, override):
    if override:
        return override, 'given'
    if device.type != 'cuda':
        return None, None
    name = torch.cuda.get_device_name(device)
    for key, tflops in BF16_PEAK_TFLOPS:
        if key in name:
            return tflops, f'{name} dense bf16'
    return None, None


def bench_config(config, args, device, tmp):
    from mmengine.logging import MessageHub
    from mmengine.runner import Runner

    from mmwsss.utils.launch import all_terms_step, load_config
    root = osp.join(tmp, osp.splitext(osp.basename(config))[0])
    cfg = load_config(osp.join(REPO, config))
    write_tree(cfg, root)
    cfg.train_dataloader.dataset.data_root = root
    cfg.train_dataloader.update(num_workers=0, persistent_workers=False)
    if args.batch_size:
        cfg.train_dataloader.batch_size = args.batch_size
    cfg.model.backbone.init_cfg = None  # random weights: speed does not depend on them
    torch.manual_seed(0)
    data = next(iter(Runner.build_dataloader(cfg.train_dataloader, seed=0)))
    MessageHub.get_current_instance().update_info('iter', all_terms_step(cfg.model))  # every loss runs
    row = dict(config=config, batch=cfg.train_dataloader.batch_size, crop=list(cfg.model.data_preprocessor.size))
    for precision in ('fp32', 'bf16'):
        if device.type == 'cuda':
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(device)
        model, optim = build(cfg, device, amp=precision == 'bf16')
        seconds, losses = time_steps(model, optim, data, device, args.iters, args.warmup)
        row[precision] = dict(s_per_iter=seconds, images_per_s=row['batch'] / seconds,
                              peak_mem_gib=peak_memory_gib(device), losses=losses)
        if precision == 'fp32':
            row['flops_per_step'] = count_flops(model, optim, data)
            views = masked_views(model, cfg, device, args.iters, args.warmup)
            if views is not None:
                row['masked_views'] = dict(visible_s=views[0], key_masked_s=views[1], views=views[2],
                                           visible_fraction=views[3], speedup=views[1] / views[0])
        del model, optim
    peak, _ = device_peak(device, args.peak_tflops)
    for precision in ('fp32', 'bf16'):
        achieved = row['flops_per_step'] / row[precision]['s_per_iter'] / 1e12
        row[precision]['tflops'] = achieved
        row[precision]['mfu_vs_bf16_peak'] = achieved / peak if peak else None
    return row


def fmt(value, spec):
    return '-' if value is None else format(value, spec)


def table(rows):
    lines = ['| config | batch | precision | s/iter | images/s | peak mem (GiB; CUDA allocated, CPU process RSS) | '
             'TFLOP/s | MFU (bf16 peak) | masked views: visible / key-masked (s) |',
             '|---|---|---|---|---|---|---|---|---|']
    for row in rows:
        for precision in ('fp32', 'bf16'):
            r = row[precision]
            views = row.get('masked_views')
            views_text = (f"{views['visible_s']:.3f} / {views['key_masked_s']:.3f} ({views['speedup']:.1f}x, "
                          f"{views['views']} views)" if views and precision == 'fp32' else '')
            lines.append(f"| {osp.basename(row['config'])} | {row['batch']} | {precision} | {r['s_per_iter']:.3f} | "
                         f"{r['images_per_s']:.2f} | {r['peak_mem_gib']:.2f} | {r['tflops']:.2f} | "
                         f"{fmt(r['mfu_vs_bf16_peak'], '.1%')} | {views_text} |")
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    import mmwsss  # noqa: F401
    from mmengine.registry import init_default_scope
    init_default_scope('mmseg')
    device = torch.device(args.device)
    configs = args.configs or default_configs(args.small)
    if not configs:
        sys.exit('no configs found')
    peak, peak_source = device_peak(device, args.peak_tflops)
    name = (torch.cuda.get_device_name(device) if device.type == 'cuda' else
            f'CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)')
    print(f'device {name}, torch {torch.__version__}, bf16 peak '
          f'{f"{peak:g} TFLOP/s ({peak_source})" if peak else "unknown (--peak-tflops): no MFU"}', flush=True)
    start = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for config in configs:
            t0 = time.perf_counter()
            rows.append(bench_config(config, args, device, tmp))
            print(f'{config}: done in {time.perf_counter() - t0:.1f} s', flush=True)
    print(table(rows))
    print(f'FLOPs per step: ' + ', '.join(f"{osp.basename(r['config'])} {r['flops_per_step'] / 1e12:.3f} TFLOP"
                                          for r in rows))
    record = dict(device=name, torch=torch.__version__, bf16_peak_tflops=peak, iters=args.iters,
                  warmup=args.warmup, small=args.small, seconds=time.perf_counter() - start, results=rows)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(record, f, indent=2)
    print(f'written {args.out} ({record["seconds"]:.0f} s in all)')


if __name__ == '__main__':
    main()
