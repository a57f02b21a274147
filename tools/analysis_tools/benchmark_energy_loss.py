# Time the dense-CRF energy loss (forward + backward) with the permutohedral lattice and with the exact dense
# O(N^2) computation, on the reference's setting: batch 4, 21 classes, 448 x 448 inputs, computed at 0.5 scale.
#   python tools/analysis_tools/benchmark_energy_loss.py [--device cuda] [--size 448] [--skip-exact]
# Prints seconds per call (median), the lattice/exact ratio and the relative difference of the two energies.
import argparse
import time

import torch
import torch.nn.functional as F

from mmwsss.models.losses.dense_energy_loss import DenseEnergyLoss


def parse_args():
    parser = argparse.ArgumentParser(description='Time DenseEnergyLoss: lattice vs exact')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--batch', type=int, default=4)
    parser.add_argument('--classes', type=int, default=21)
    parser.add_argument('--size', type=int, default=448)
    parser.add_argument('--repeat', type=int, default=3, help='timed calls per backend (after one warm-up)')
    parser.add_argument('--skip-exact', action='store_true', help='only time the lattice')
    return parser.parse_args()


def synthetic_batch(args):
    """Piecewise-constant images with noise, smooth random logits, a crop box and a 255 band, seeded."""
    g = torch.Generator().manual_seed(0)
    b, k, s = args.batch, args.classes, args.size
    coarse = torch.rand(b, 3, 8, 8, generator=g) * 255
    img = F.interpolate(coarse, size=(s, s), mode='nearest') + torch.rand(b, 3, s, s, generator=g) * 10
    logits = F.interpolate(torch.randn(b, k, s // 16, s // 16, generator=g) * 3, size=(s, s), mode='bilinear',
                           align_corners=False)
    roi = torch.ones(b, s, s)
    roi[:, :, int(s * 0.9):] = 0
    labels = logits.argmax(1)
    labels[:, s // 3: s // 3 + s // 20] = 255
    return [t.to(args.device) for t in (img, logits, roi, labels)]


def time_backend(backend, batch, args):
    img, logits, roi, labels = batch
    loss = DenseEnergyLoss(loss_weight=1.0, weight=1.0, backend=backend)
    times, value = [], None
    for i in range(args.repeat + 1):
        lg = logits.clone().requires_grad_(True)
        if args.device.startswith('cuda'):
            torch.cuda.synchronize()
        start = time.perf_counter()
        value = loss(img, F.softmax(lg, 1), roi, labels)
        value.backward()
        if args.device.startswith('cuda'):
            torch.cuda.synchronize()
        if i:
            times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2], float(value.detach())


def main():
    args = parse_args()
    batch = synthetic_batch(args)
    print(f'batch {args.batch}, {args.classes} classes, {args.size}x{args.size} inputs (energy at 0.5 scale), '
          f'device {args.device}, threads {torch.get_num_threads()}, torch {torch.__version__}')
    t_lat, e_lat = time_backend('lattice', batch, args)
    print(f'lattice: {t_lat:.3f} s per call (median of {args.repeat}), energy {e_lat:.6g}')
    if args.skip_exact:
        return
    t_ex, e_ex = time_backend('exact', batch, args)
    print(f'exact:   {t_ex:.3f} s per call (median of {args.repeat}), energy {e_ex:.6g}')
    print(f'exact / lattice time: {t_ex / t_lat:.1f}x; lattice / exact energy: {e_lat / e_ex:.3f}')


if __name__ == '__main__':
    main()
