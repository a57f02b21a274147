# Time the dense-CRF energy loss's bilateral filtering and the whole loss (forward + backward): the permutohedral
# lattice of this checkout, the lattice of an earlier revision (read from git), the exact dense O(N^2) filter and,
# when it is importable, the rloss C++ extension (`bilateralfilter`, what the reference repositories build).
# The reference's setting: 21 classes, 448 x 448 inputs, filtered at 0.5 scale (224 x 224, sigma_xy 50, sigma_rgb 15).
#
#   python tools/analysis_tools/benchmark_energy_loss.py --batch 1 4 --threads 2 [--previous REV]
#       [--rloss-path DIR_WITH_bilateralfilter] [--skip-exact] [--device cuda]
#
# Prints per batch size: seconds per filtering of all classes and per loss forward + backward (medians), and each
# implementation's energy relative to this checkout's lattice.
import argparse
import functools
import os.path as osp
import statistics
import subprocess
import sys
import time
import types

import numpy as np
import torch
import torch.nn.functional as F

from mmwsss.models.losses import dense_energy_loss
from mmwsss.models.losses.dense_energy_loss import DenseEnergyLoss, bilateral_filter

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: the last revision with the lattice that built per-vertex keys and recovered them for the blur
PREVIOUS = 'aff89178f5de09ff9b0d33259fc2b5cdca667f1a'
SIGMA_RGB, SIGMA_XY, SCALE = 15.0, 100.0, 0.5


def parse_args():
    parser = argparse.ArgumentParser(description='Time the energy loss: lattice vs previous lattice vs exact vs C++')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--batch', type=int, nargs='+', default=[1, 4])
    parser.add_argument('--classes', type=int, default=21)
    parser.add_argument('--size', type=int, default=448)
    parser.add_argument('--threads', type=int, default=None, help='torch and OpenMP threads (default: torch\'s)')
    parser.add_argument('--repeat', type=int, default=5, help='timed calls per implementation (after one warm-up)')
    parser.add_argument('--exact-repeat', type=int, default=1, help='timed calls of the slow exact filter')
    parser.add_argument('--skip-exact', action='store_true', help='leave the exact O(N^2) filter out')
    parser.add_argument('--previous', default=PREVIOUS, help='git revision of the earlier lattice ("" to skip)')
    parser.add_argument('--rloss-path', default=None, help='folder holding the built rloss `bilateralfilter` module')
    return parser.parse_args()


def synthetic_batch(batch, classes, size, device):
    """Piecewise-constant images with noise, smooth random logits, a crop box and a 255 band, seeded."""
    g = torch.Generator().manual_seed(0)
    coarse = torch.rand(batch, 3, 8, 8, generator=g) * 255
    img = F.interpolate(coarse, size=(size, size), mode='nearest') + torch.rand(batch, 3, size, size, generator=g) * 10
    logits = F.interpolate(torch.randn(batch, classes, size // 16, size // 16, generator=g) * 3, size=(size, size),
                           mode='bilinear', align_corners=False)
    roi = torch.ones(batch, size, size)
    roi[:, :, int(size * 0.9):] = 0
    labels = logits.argmax(1)
    labels[:, size // 3: size // 3 + size // 20] = 255
    return [t.to(device) for t in (img, logits, roi, labels)]


def load_previous(rev):
    """``permutohedral_filter`` of ``rev``'s mmwsss/models/losses/permutohedral.py (needs this git checkout)."""
    source = subprocess.run(['git', 'show', f'{rev}:mmwsss/models/losses/permutohedral.py'], cwd=REPO,
                            capture_output=True, text=True, check=True).stdout
    module = types.ModuleType('permutohedral_previous')
    exec(compile(source, f'{rev[:8]}:permutohedral.py', 'exec'), module.__dict__)
    return module.permutohedral_filter


def rloss_filter(images, seg, sigma_rgb, sigma_xy):
    """The rloss C++ extension's batched filter, called as the reference repositories call it (float32 arrays)."""
    import bilateralfilter
    b, k, h, w = seg.shape
    out = np.zeros(b * k * h * w, dtype=np.float32)
    bilateralfilter.bilateralfilter_batch(images.cpu().numpy().astype(np.float32).ravel(),
                                          seg.cpu().numpy().astype(np.float32).ravel(), out, b, k, h, w,
                                          sigma_rgb, sigma_xy)
    return torch.from_numpy(out).view(b, k, h, w)


def median_time(fn, repeat, device, warmup=1):
    times, result = [], None
    for i in range(repeat + warmup):
        if device.startswith('cuda'):
            torch.cuda.synchronize()
        start = time.perf_counter()
        result = fn()
        if device.startswith('cuda'):
            torch.cuda.synchronize()
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return statistics.median(times), result


def energy_parts(img, logits, roi, labels):
    """What the loss filters (scaled images, S = probs * ROI) and its gate, as DenseEnergyLoss computes them."""
    images = F.interpolate(img, scale_factor=SCALE, mode='nearest')
    probs = F.interpolate(F.softmax(logits, 1), scale_factor=SCALE, mode='bilinear', align_corners=False)
    rois = F.interpolate(roi[:, None], scale_factor=SCALE, mode='nearest')[:, 0]
    lab = F.interpolate(labels[:, None].float(), scale_factor=SCALE, mode='nearest')[:, 0]
    gate = (rois - probs.amax(1)).clamp(min=0)
    gate = torch.where(lab == 255, torch.ones_like(gate), gate)
    return images, probs * rois[:, None], gate


def main():
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
        import os
        os.environ['OMP_NUM_THREADS'] = str(args.threads)  # the C++ extension's OpenMP (read at its first call)
    if args.rloss_path:
        sys.path.insert(0, args.rloss_path)
    impls = {'lattice': None}
    if args.previous:
        dense_energy_loss.BACKENDS['previous'] = load_previous(args.previous)
        impls['previous'] = None
    # the previous revision ran one lattice for the batch: its filter and loss are timed that way
    batched = functools.partial(bilateral_filter, per_image=False)
    try:
        import bilateralfilter  # noqa: F401
        impls['rloss C++'] = None
    except ImportError:
        print('rloss C++ extension not importable (--rloss-path): left out')
    if not args.skip_exact:
        impls['exact'] = None
    print(f'{args.classes} classes, {args.size}x{args.size} inputs filtered at {SCALE} scale, device {args.device}, '
          f'torch threads {torch.get_num_threads()}, torch {torch.__version__}')
    # largest batch first: the rloss extension calls omp_set_num_threads(min(threads, batch)), which sticks for the
    # rest of the process, so a batch of 1 timed first would leave it one thread for the larger batches
    for batch in sorted(args.batch, reverse=True):
        img, logits, roi, labels = synthetic_batch(batch, args.classes, args.size, args.device)
        images, seg, gate = energy_parts(img, logits, roi, labels)
        rows = {}

        def energy64(name):
            filter_fn = batched if name == 'previous' else bilateral_filter
            out = filter_fn(images, seg.double(), SIGMA_RGB, SIGMA_XY * SCALE, name)
            return float(-(seg.double() * out * gate[:, None].double()).sum() / batch)

        for name in impls:
            # the exact filter takes minutes at these sizes: no warm-up, and its loss time is its filter time
            repeat, warmup = (args.exact_repeat, 0) if name == 'exact' else (args.repeat, 1)
            if name == 'rloss C++':
                t_filter, out = median_time(lambda: rloss_filter(images, seg, SIGMA_RGB, SIGMA_XY * SCALE), repeat,
                                            args.device)
            else:
                filter_fn = batched if name == 'previous' else bilateral_filter
                t_filter, out = median_time(
                    lambda: filter_fn(images, seg, SIGMA_RGB, SIGMA_XY * SCALE, name), repeat, args.device, warmup)
            energy = float(-(seg.double() * out.to(seg.device).double() * gate[:, None].double()).sum() / batch)
            t_loss = None
            if name in ('lattice', 'previous'):
                loss = DenseEnergyLoss(loss_weight=1.0, weight=1.0, backend=name)
                dense_energy_loss.bilateral_filter = filter_fn

                def step():
                    lg = logits.clone().requires_grad_(True)
                    value = loss(img, F.softmax(lg, 1), roi, labels)
                    value.backward()
                    return value
                t_loss, _ = median_time(step, repeat, args.device)
                dense_energy_loss.bilateral_filter = bilateral_filter
            rows[name] = (t_filter, t_loss, energy)
        base_t, _, base_e = rows['lattice']
        print(f'\nbatch {batch} (median of {args.repeat} calls after a warm-up; exact: {args.exact_repeat} call)')
        print('| implementation | filter, all classes (s) | vs lattice | loss forward + backward (s) | energy | '
              'energy / lattice |')
        print('|---|---|---|---|---|---|')
        for name, (t_filter, t_loss, energy) in rows.items():
            print(f'| {name} | {t_filter:.4f} | {t_filter / base_t:.2f}x | '
                  f'{"-" if t_loss is None else f"{t_loss:.4f}"} | {energy:.8g} | {energy / base_e:.9f} |')
        if 'previous' in rows:
            # the lattice filters float32 values in float32 (as the C++ lattice) and float64 values in float64;
            # the previous lattice always worked in float64: compare both ways
            print(f'lattice vs previous: |relative energy difference| {abs(rows["previous"][2] / base_e - 1):.2e} '
                  f'(float32 values), {abs(energy64("previous") / energy64("lattice") - 1):.2e} (float64 values)')


if __name__ == '__main__':
    main()
