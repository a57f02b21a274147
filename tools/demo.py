# `make demo`: weak supervision on a CPU, end to end, with the project's own tools.
#
# 1. generate WeakShapes (skipped when present), 2. train a WSSS config (MCC by default) with tools/train.py,
# 3. score it with tools/test.py: seg mIoU on val, CAM mIoU and PAR pseudo-label mIoU (+ coverage) on train,
# 4. compare with trivial baselines computed from the same GT, 5. save CAM / prediction overlays, 6. print a table.
# Every command is printed before it runs. `--methods mcc toco` trains both with the same iterations and seed; the
# MSFC ablation of configs/msfc/README.md is
#   python tools/demo.py --work-dir work_dirs/ablation_msfc --methods toco mcc msfc msfc-no-smcm msfc-no-mp2m
import argparse
import glob
import json
import os
import os.path as osp
import shlex
import subprocess
import sys
import time

import numpy as np

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = {
    'mcc': 'configs/mcc/mcc_vit-tiny-p8_1xb8-700_weakshapes-96x96.py',
    'toco': 'configs/toco/toco_vit-tiny-p8_1xb8-700_weakshapes-96x96.py',
    'mcc-energy': 'configs/mcc/mcc-energy_vit-tiny-p8_1xb8-700_weakshapes-96x96.py',
    'msfc': 'configs/msfc/msfc_vit-tiny-p8_1xb8-700_weakshapes-96x96.py',
    'msfc-no-smcm': 'configs/msfc/msfc-no-smcm_vit-tiny-p8_1xb8-700_weakshapes-96x96.py',
    'msfc-no-mp2m': 'configs/msfc/msfc-no-mp2m_vit-tiny-p8_1xb8-700_weakshapes-96x96.py',
}


def parse_args():
    parser = argparse.ArgumentParser(description='mmwsss demo: WSSS on WeakShapes on a CPU')
    parser.add_argument('--methods', nargs='+', default=['mcc'], choices=sorted(CONFIGS))
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--data-root', default='data/weakshapes')
    parser.add_argument('--iters', type=int, default=None, help='training iterations (default: the config\'s)')
    parser.add_argument('--num-overlays', type=int, default=6)
    parser.add_argument('--force', action='store_true',
                        help='retrain and re-evaluate methods whose results are already in the work dir')
    return parser.parse_args()


def run(cmd):
    print('\n$ ' + ' '.join(shlex.quote(c) for c in cmd), flush=True)
    start = time.perf_counter()
    subprocess.run(cmd, cwd=REPO, check=True)
    return time.perf_counter() - start


def latest_metrics(test_dir):
    files = sorted(glob.glob(osp.join(REPO, test_dir, '*', '*.json')), key=os.path.getmtime)
    with open(files[-1]) as f:
        return json.load(f)


def seconds_per_iter(work_dir):
    """Mean training s/iter from the logs of a work dir (every run of it, resumed ones included): the mean of the
    ``time`` that LoggerHook records per logging window; NaN when there is no log."""
    times = []
    for path in sorted(glob.glob(osp.join(REPO, work_dir, '2*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            records = [json.loads(line) for line in f if line.strip()]
        times += [r['time'] for r in records if 'loss' in r and 'time' in r]
    return float(np.mean(times)) if times else float('nan')


def data_options(root, split):
    """Point the test split at ``split`` (with GT masks and labels) under ``root``."""
    opts = [f'{k}.dataset.data_root={root}' for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    return opts + [f'test_dataloader.dataset.ann_file=ImageSets/Segmentation/{split}.txt']


def trivial_baselines(root, split, num_classes):
    """mIoU of (a) all background, (b) the image's first labelled class painted over the whole image."""
    from PIL import Image
    labels = np.load(osp.join(root, 'cls_labels_onehot.npy'), allow_pickle=True).item()
    with open(osp.join(root, 'ImageSets', 'Segmentation', f'{split}.txt')) as f:
        stems = f.read().split()
    conf = {'all background': np.zeros((num_classes, num_classes), np.int64),
            'first label everywhere': np.zeros((num_classes, num_classes), np.int64)}
    for stem in stems:
        gt = np.array(Image.open(osp.join(root, 'SegmentationClass', stem + '.png'))).ravel()
        gt = gt[gt != 255].astype(np.int64)
        first = int(np.flatnonzero(labels[stem])[0]) + 1
        for name, value in (('all background', 0), ('first label everywhere', first)):
            conf[name] += np.bincount(gt * num_classes + value, minlength=num_classes**2).reshape(num_classes, -1)
    out = {}
    for name, c in conf.items():
        union = c.sum(0) + c.sum(1) - np.diag(c)
        present = c.sum(1) > 0
        out[name] = float(np.mean(np.diag(c)[present] / np.maximum(union[present], 1)) * 100)
    return out


def save_overlays(config, checkpoint, root, out_file, num):
    """Val images with their per-class CAMs (image's labels) and the segmentation prediction, one PNG."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import torch
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner, load_checkpoint

    import mmwsss  # noqa: F401
    from mmseg.registry import MODELS
    from mmwsss.utils.launch import load_config

    init_default_scope('mmseg')
    cfg = load_config(config, cfg_options={'val_dataloader.dataset.data_root': root,
                                           'val_dataloader.num_workers': 0,
                                           'val_dataloader.persistent_workers': False})
    model = MODELS.build(cfg.model).eval()
    load_checkpoint(model, checkpoint, map_location='cpu', logger='silent')
    dataset = Runner.build_dataloader(cfg.val_dataloader).dataset
    classes = dataset.metainfo['classes']
    palette = np.array(dataset.metainfo['palette'], np.uint8)
    fig, axes = plt.subplots(num, 4, figsize=(10, 2.6 * num))
    for row in range(num):
        batch = model.data_preprocessor(dict(inputs=[dataset[row]['inputs']],
                                             data_samples=[dataset[row]['data_samples']]), training=False)
        with torch.no_grad():
            cam, _ = model.multi_scale_cams(batch['inputs'])
            pred = model.predict(batch['inputs'], batch['data_samples'])[0].pred_sem_seg.data[0].numpy()
        sample = batch['data_samples'][0]
        img = np.array(dataset[row]['inputs'].permute(1, 2, 0))[..., ::-1]
        present = torch.nonzero(sample.gt_img_labels).flatten().tolist()
        gt = sample.gt_sem_seg.data[0].numpy()
        axes[row, 0].imshow(img)
        axes[row, 0].set_title(', '.join(classes[i + 1] for i in present), fontsize=8)
        for col, k in enumerate(present[:2], start=1):
            axes[row, col].imshow(img)
            axes[row, col].imshow(cam[0, k].numpy(), cmap='jet', alpha=0.5, vmin=0, vmax=1)
            axes[row, col].set_title(f'CAM {classes[k + 1]}', fontsize=8)
        axes[row, 3].imshow(np.concatenate([palette[np.minimum(pred, len(palette) - 1)],
                                            palette[np.where(gt == 255, 0, gt)]], axis=1))
        axes[row, 3].set_title('prediction | GT', fontsize=8)
        for ax in axes[row]:
            ax.axis('off')
    fig.tight_layout()
    fig.savefig(out_file, dpi=90)
    plt.close(fig)


def run_method(method, args, py):
    config = CONFIGS[method]
    work_dir = osp.join(args.work_dir, method)
    result_file = osp.join(REPO, work_dir, 'result.json')
    if osp.isfile(result_file) and not args.force:  # finished earlier (e.g. `--methods mcc toco` after mcc)
        print(f'\n{method}: reusing {result_file} (--force to redo)')
        with open(result_file) as f:
            return json.load(f)
    root = args.data_root
    train_opts = [f'{k}.dataset.data_root={root}' for k in ('train_dataloader', 'val_dataloader')]
    if args.iters:
        train_opts += [f'train_cfg.max_iters={args.iters}', f'train_cfg.val_interval={args.iters}',
                       f'param_scheduler.1.end={args.iters}']
    from mmengine.config import Config
    max_iters = args.iters or Config.fromfile(osp.join(REPO, config)).train_cfg.max_iters
    final_ckpt = osp.join(REPO, work_dir, f'iter_{max_iters}.pth')
    if osp.isfile(final_ckpt) and not args.force:  # trained earlier: only evaluate again
        print(f'\n{method}: reusing the trained {final_ckpt} (--force to retrain)')
        t_train = float('nan')
    else:  # (an interrupted run resumes from its last checkpoint)
        resume = ['--resume'] if not args.force and osp.isfile(osp.join(REPO, work_dir, 'last_checkpoint')) else []
        t_train = run([py, 'tools/train.py', config, '--work-dir', work_dir, *resume, '--cfg-options',
                       *train_opts])
    ckpt = final_ckpt
    row = dict(method=method, train_s=t_train, s_per_iter=seconds_per_iter(work_dir))
    evals = [('seg_val', 'val', 'seg'), ('cam_train', 'train', 'cam'), ('pseudo_train', 'train', 'pseudo')]
    for key, split, output in evals:
        test_dir = osp.join(work_dir, f'test_{key}')
        t = run([py, 'tools/test.py', config, ckpt, '--work-dir', test_dir, '--cfg-options',
                 *data_options(root, split), f'model.test_cfg.output={output}', 'test_evaluator.type=WSSSIoUMetric'])
        row[key] = latest_metrics(test_dir)
        row[key + '_s'] = t
    overlay = osp.join(work_dir, 'overlays.png')
    save_overlays(config, ckpt, root, osp.join(REPO, overlay), args.num_overlays)
    row['overlays'] = overlay
    with open(result_file, 'w') as f:
        json.dump(row, f, indent=2)
    return row


def train_time(seconds):
    return 'trained earlier' if seconds != seconds else f'{seconds / 60:.1f} min'  # NaN: reused checkpoint


def main():
    args = parse_args()
    py = sys.executable
    start = time.perf_counter()
    t_data = run([py, 'tools/dataset_converters/make_weakshapes.py', args.data_root])
    rows = [run_method(m, args, py) for m in args.methods]
    baselines_val = trivial_baselines(osp.join(REPO, args.data_root), 'val', 6)
    baselines_train = trivial_baselines(osp.join(REPO, args.data_root), 'train', 6)
    total = time.perf_counter() - start

    lines = ['| method | CAM mIoU (train) | pseudo mIoU (train) | pseudo mIoU covered / coverage | seg mIoU (val) '
             '| s/iter | train time |', '|---|---|---|---|---|---|---|']
    for r in rows:
        lines.append(f'| {r["method"]} | {r["cam_train"]["mIoU"]:.2f} | {r["pseudo_train"]["mIoU"]:.2f} | '
                     f'{r["pseudo_train"]["mIoU_covered"]:.2f} / {r["pseudo_train"]["coverage"]:.1f}% | '
                     f'{r["seg_val"]["mIoU"]:.2f} | {r.get("s_per_iter", float("nan")):.2f} | '
                     f'{train_time(r["train_s"])} |')
    for name in baselines_val:
        lines.append(f'| baseline: {name} | {baselines_train[name]:.2f} | | | {baselines_val[name]:.2f} | | |')
    table = '\n'.join(lines)
    print('\n=== mmwsss demo: WeakShapes, image-level labels only, CPU ===')
    print(table)
    print('CAM: multi-scale + flip, background score 0.5; pseudo: PAR labels with the 255 band (mIoU counts the '
          'band as misses; "covered" scores only labelled pixels); s/iter: mean of the training log\'s iteration '
          'times (CPU, this machine, all methods of one run share it only when trained in the same run)')
    for r in rows:
        print(f'overlays ({r["method"]}): {r["overlays"]}')
    print(f'data {t_data:.0f} s; total wall time {total / 60:.1f} min')
    with open(osp.join(REPO, args.work_dir, 'summary.md'), 'w') as f:
        f.write(table + f'\n\ntotal wall time {total / 60:.1f} min\n')


if __name__ == '__main__':
    main()
