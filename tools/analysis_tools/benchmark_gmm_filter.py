# Time DuPL's adaptive noise filter: scikit-learn's GaussianMixture fitted on the CPU one image at a time (a Python
# loop over students and images, as the released DuPL code does) against the batched torch filter of
# mmwsss.models.dupl.gmm_filter (all students' images in one call, on --device).
# The VOC setting: 2 students x a per-GPU batch of 2 (or 4), 448 x 448 label maps, 21 classes.
#
#   python tools/analysis_tools/benchmark_gmm_filter.py --batch 2 4 --threads 2 [--device cuda] [--repeat 5]
#       [--sklearn-dtype float32|float64]
#
# The inputs are synthetic and seeded: piecewise-constant pseudo labels (background, 1-3 object classes, an ignored
# band), student logits that agree with them except on "noisy" patches, and the per-pixel cross-entropy of the
# labels. Prints per batch size the median seconds per training iteration of each filter (after one warm-up call),
# their ratio, and how far the two agree: the fraction of pixels where the filtered labels differ, the images where
# only one of them filtered, and the largest |mean| difference of the fitted components.
import argparse
import os
import statistics
import time
import warnings

import numpy as np
import torch
import torch.nn.functional as F

from mmwsss.models.dupl import fit_gmm_1d, gmm_noise_filter

MIN_PIXELS, LOSS_FLOOR, MEAN_GAP, POSTERIOR_THR, IGNORE = 1000, 0.1, 1.0, 0.95, 255
GMM_KWARGS = dict(n_components=2, covariance_type='full', init_params='kmeans', max_iter=10, tol=1e-2,
                  reg_covar=5e-4, random_state=0)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Time the GMM noise filter: per-image scikit-learn vs batched torch')
    parser.add_argument('--device', default='cpu', help='device of the torch filter (scikit-learn runs on the CPU)')
    parser.add_argument('--batch', type=int, nargs='+', default=[2, 4], help='images per student (per-GPU batch)')
    parser.add_argument('--students', type=int, default=2)
    parser.add_argument('--size', type=int, default=448)
    parser.add_argument('--classes', type=int, default=21)
    parser.add_argument('--threads', type=int, default=None,
                        help='torch threads and the OpenMP / BLAS threads of scikit-learn (default: the libraries\')')
    parser.add_argument('--repeat', type=int, default=5, help='timed iterations per filter (after one warm-up)')
    parser.add_argument('--sklearn-dtype', default='float32', choices=['float32', 'float64'],
                        help='dtype of the losses handed to scikit-learn (float32: as a float32 forward computes '
                        'them; scikit-learn then fits in float32). The torch filter always fits in float64')
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args(argv)


def synthetic_batch(images, classes, size, seed):
    """Pseudo labels (images, size, size) long and the cross-entropy of student logits against them (float32).

    Per image: 1-3 object classes on a coarse random layout (about a third of the pixels), an ignored band between
    background and objects, logits with a per-pixel margin for the predicted class, and a few patches where the
    student predicts another class than the label: their losses form the high-loss mode the filter removes.
    """
    g = torch.Generator().manual_seed(seed)
    labels, losses = [], []
    for _ in range(images):
        coarse = max(size // 32, 2)
        obj_classes = torch.randperm(classes - 1, generator=g)[:int(torch.randint(1, 4, (1,), generator=g))] + 1
        layout = torch.rand(1, 1, coarse, coarse, generator=g)
        smooth = F.interpolate(layout, size=(size, size), mode='bilinear', align_corners=False)[0, 0]
        half = max(coarse // 2, 1)
        which = F.interpolate(torch.randint(0, len(obj_classes), (1, 1, half, half), generator=g).float(),
                              size=(size, size), mode='nearest')[0, 0].long()
        label = torch.where(smooth > 0.62, obj_classes[which], 0)
        label[(smooth > 0.58) & (smooth <= 0.62)] = IGNORE
        # the student's prediction: the label, except on noisy patches (a random class, mostly another one)
        patches = F.interpolate(torch.rand(1, 1, coarse, coarse, generator=g), size=(size, size), mode='nearest')[0, 0]
        noisy = (patches > 0.85) & (label != 0) & (label != IGNORE)
        other = torch.randint(0, classes, (size, size), generator=g)
        predicted = torch.where(noisy, other, label.clamp(max=classes - 1))
        margin = 1.5 + torch.rand(size, size, generator=g) * 6 + torch.randn(size, size, generator=g).abs()
        logits = torch.randn(classes, size, size, generator=g)
        logits.scatter_add_(0, predicted[None], margin[None])
        losses.append(F.cross_entropy(logits[None], label[None], ignore_index=IGNORE, reduction='none')[0])
        labels.append(label)
    return torch.stack(losses), torch.stack(labels)


def sklearn_filter(losses, labels, dtype):
    """The filter as the released DuPL code runs it: one CPU GaussianMixture per image. Returns labels, means."""
    from sklearn.mixture import GaussianMixture
    out, means = labels.clone(), []
    for i in range(losses.shape[0]):
        loss = losses[i].detach().cpu().numpy().astype(dtype).reshape(-1, 1)
        label = labels[i].cpu().numpy().reshape(-1)
        foreground = (label != 0) & (label != IGNORE)
        candidates = foreground & (loss[:, 0] > LOSS_FLOOR)
        if candidates.sum() <= MIN_PIXELS:
            means.append(None)
            continue
        gmm = GaussianMixture(**GMM_KWARGS).fit(loss[candidates])
        mu = gmm.means_[:, 0]
        means.append(np.sort(mu))
        if abs(mu[0] - mu[1]) <= MEAN_GAP:
            continue
        noisy = gmm.predict_proba(loss)[:, int(mu.argmax())] > POSTERIOR_THR
        remove = torch.from_numpy(noisy & foreground).reshape(labels.shape[1:]).to(labels.device)
        out[i][remove] = IGNORE
    return out, means


def torch_means(losses, labels):
    """The sorted component means the torch filter fits, per image (None where it does not fit)."""
    flat_loss, flat_labels = losses.reshape(len(losses), -1), labels.reshape(len(labels), -1)
    candidates = (flat_labels != 0) & (flat_labels != IGNORE) & (flat_loss > LOSS_FLOOR)
    fit = fit_gmm_1d(flat_loss, candidates)
    enough = (candidates.sum(1) > MIN_PIXELS).tolist()
    return [m.sort().values.cpu().numpy() if ok else None for m, ok in zip(fit.means, enough)]


def median_time(fn, repeat, device):
    times, result = [], None
    for i in range(repeat + 1):
        if device.startswith('cuda'):
            torch.cuda.synchronize()
        start = time.perf_counter()
        result = fn()
        if device.startswith('cuda'):
            torch.cuda.synchronize()
        if i:
            times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main(argv=None):
    args = parse_args(argv)
    limits = None
    if args.threads:
        torch.set_num_threads(args.threads)
        os.environ['OMP_NUM_THREADS'] = str(args.threads)
        from threadpoolctl import threadpool_limits
        limits = threadpool_limits(limits=args.threads)  # scikit-learn's OpenMP (k-means) and BLAS, for this process
    import sklearn
    warnings.filterwarnings('ignore', module='sklearn')  # ConvergenceWarning after max_iter = 10 EM steps
    print(f'{args.students} students x batch, {args.size}x{args.size} labels, {args.classes} classes; torch filter on '
          f'{args.device}, torch threads {torch.get_num_threads()}, torch {torch.__version__}, scikit-learn '
          f'{sklearn.__version__} on {args.sklearn_dtype} losses')
    rows = []
    for batch in args.batch:
        images = args.students * batch
        losses, labels = synthetic_batch(images, args.classes, args.size, args.seed)
        dev_losses, dev_labels = losses.to(args.device), labels.to(args.device)
        t_sk, (out_sk, means_sk) = median_time(lambda: sklearn_filter(dev_losses, dev_labels, args.sklearn_dtype),
                                               args.repeat, args.device)
        t_torch, (out_torch, stats) = median_time(lambda: gmm_noise_filter(dev_losses, dev_labels), args.repeat,
                                                  args.device)
        means_torch = torch_means(dev_losses, dev_labels)
        differ = (out_sk != out_torch).double().mean().item()
        removed_sk = ((out_sk == IGNORE) & (labels.to(args.device) != IGNORE)).any(dim=(1, 2))
        removed_torch = ((out_torch == IGNORE) & (dev_labels != IGNORE)).any(dim=(1, 2))
        one_sided = int((removed_sk != removed_torch).sum())
        pairs = [(a, b) for a, b in zip(means_sk, means_torch) if a is not None and b is not None]
        mean_diff = max((float(np.abs(a - b).max()) for a, b in pairs), default=float('nan'))
        fitted_differ = sum((a is None) != (b is None) for a, b in zip(means_sk, means_torch))
        rows.append((batch, images, t_sk, t_torch, differ, one_sided, mean_diff, fitted_differ,
                     float(stats['applied']), float(stats['removed'])))
    print(f'\nmedian of {args.repeat} iterations after a warm-up; an iteration filters students x batch images')
    print('| batch | images | scikit-learn loop (s) | torch batched (s) | speed-up | pixels differing | '
          'images filtered by one only | max mean diff | fitted by one only | applied (torch) | '
          'fg removed (torch) |')
    print('|---|---|---|---|---|---|---|---|---|---|---|')
    for batch, images, t_sk, t_torch, differ, one_sided, mean_diff, fitted_differ, applied, removed in rows:
        print(f'| {batch} | {images} | {t_sk:.4f} | {t_torch:.4f} | {t_sk / t_torch:.2f}x | {differ:.2e} | '
              f'{one_sided} | {mean_diff:.2e} | {fitted_differ} | {applied:.2f} | {removed:.4f} |')
    if limits is not None:
        limits.restore_original_limits()
    return rows


if __name__ == '__main__':
    main()
