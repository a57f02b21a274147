# `make demo`: weak supervision on a CPU, end to end, with the project's own tools.
#
# 1. generate WeakShapes (skipped when present), 2. train a WSSS config (MCC by default) with tools/train.py,
# 3. score it with tools/test.py: seg mIoU on val (single scale, MS+flip, MS+flip+CRF), CAM mIoU (fixed threshold
#    and best of a sweep) and PAR pseudo-label mIoU (+ coverage) on train; a result.json that lacks a column is
#    completed without retraining,
# 4. compare with trivial baselines computed from the same GT, 5. save CAM / prediction overlays, 6. print a table.
# Every command is printed before it runs. `--methods mcc toco` trains both with the same iterations and seed; the
# MSFC ablation of configs/msfc/README.md is
#   python tools/demo.py --work-dir work_dirs/ablation_msfc --methods toco mcc msfc msfc-no-smcm msfc-no-mp2m
#
# Seeds: one run of this tiny from-scratch model is one draw, and another seed moves its numbers by about a point, so
# `--seeds 0 1 2` trains every method with every seed (`randomness.seed`: data order, views, initialisation; WeakShapes
# is generated once, so every run sees the same images), prints each number as mean ± std (n) and each method minus
# `--baseline` (default: the first method) paired by seed with a 95% interval (mmwsss/utils/seed_stats.py), and adds
# those tables to <work-dir>/summary.md. The default `--seeds 0` is the single run of before, with the same table.
# Run dirs: <work-dir>/<method> for seed 0 (the configs' seed) and <work-dir>/<method>-seed<S> for the others. A run's
# folder depends only on its method and seed, so the work dirs of earlier single-seed comparisons are seed 0 of a
# multi-seed one; the seed folders are siblings, not subfolders, because the report tools read a work dir's test runs
# at any depth and would mix seed 1's numbers into seed 0's. Finished runs are reused and an interrupted one resumes,
# so after a kill the same command trains and evaluates only what is missing (result.json is written after each
# step); seeds are the outer loop, so a kill leaves whole seeds of the comparison done. `--records DIR` also keeps each
# finished run without its checkpoints and images in DIR/<run folder> and reuses what it finds there, so a comparison
# longer than one machine's session goes on elsewhere from the committed records (the WeakShapes seed tables of the
# method READMEs: --records docs/records/weakshapes_seeds). Then the model-zoo tables:
#   python tools/demo.py --work-dir work_dirs/seeds_dupl --methods toco mcc dupl --seeds 0 1 2
#   python tools/analysis_tools/model_zoo_report.py work_dirs/seeds_dupl/*/ --baseline toco
import argparse
import glob
import json
import os
import os.path as osp
import shlex
import shutil
import subprocess
import sys
import time

import numpy as np

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, REPO)
from mmwsss.utils.seed_stats import format_difference, format_summary, paired_difference  # noqa: E402
from mmwsss.utils.work_dir import seconds_per_iter, training_config  # noqa: E402

CONFIGS = {
    'mcc': 'configs/mcc/mcc_vit-tiny-p8_1xb8-700_weakshapes-96x96.py',
    'toco': 'configs/toco/toco_vit-tiny-p8_1xb8-700_weakshapes-96x96.py',
    'mcc-energy': 'configs/mcc/mcc-energy_vit-tiny-p8_1xb8-700_weakshapes-96x96.py',
    'msfc': 'configs/msfc/msfc_vit-tiny-p8_1xb8-700_weakshapes-96x96.py',
    'msfc-no-smcm': 'configs/msfc/msfc-no-smcm_vit-tiny-p8_1xb8-700_weakshapes-96x96.py',
    'msfc-no-mp2m': 'configs/msfc/msfc-no-mp2m_vit-tiny-p8_1xb8-700_weakshapes-96x96.py',
    'msfc-memcam': 'configs/msfc/msfc-memcam_vit-tiny-p8_1xb8-700_weakshapes-96x96.py',
    'msfc-minmax': 'configs/msfc/msfc-minmax_vit-tiny-p8_1xb8-700_weakshapes-96x96.py',
    'dupl': 'configs/dupl/dupl_vit-tiny-p8_1xb8-700_weakshapes-96x96.py',
}


# (result key, split, segmentor output, tools/test.py flags, metric): every number of the report's WSSS table
EVALS = [
    ('seg_val', 'val', 'seg', [], 'WSSSIoUMetric'),
    ('seg_val_ms', 'val', 'seg', ['--tta'], 'WSSSIoUMetric'),
    ('seg_val_ms_crf', 'val', 'seg', ['--ms-flip-crf'], 'WSSSIoUMetric'),
    ('cam_train', 'train', 'cam', [], 'CAMThresholdSweepMetric'),
    # the sweep on val chooses the background threshold at which the train CAMs are scored (held out): a best of a
    # sweep chosen on the set it scores is an optimistic bound, not evidence that a method places its CAMs better
    ('cam_val', 'val', 'cam', [], 'CAMThresholdSweepMetric'),
    ('pseudo_train', 'train', 'pseudo', [], 'WSSSIoUMetric'),
]


# (label, result key, metric) of the seed tables
SEED_METRICS = [
    ('CAM mIoU (train)', 'cam_train', 'mIoU'),
    ('CAM best of sweep (train)', 'cam_train', 'best_mIoU'),
    ('CAM at val-chosen thr (train)', 'cam_train', 'held_out'),
    ('pseudo mIoU (train)', 'pseudo_train', 'mIoU'),
    ('pseudo mIoU covered (train)', 'pseudo_train', 'mIoU_covered'),
    ('seg mIoU (val)', 'seg_val', 'mIoU'),
    ('MS+flip', 'seg_val_ms', 'mIoU'),
    ('MS+flip+CRF', 'seg_val_ms_crf', 'mIoU'),
    # the cost, paired by seed like the rest: `--baseline msfc-no-smcm` gives SMCM's cost on matched pairs
    ('s/iter (training)', None, 's_per_iter'),
]


def _complete(key, metrics):
    return 'best_mIoU' in metrics if key.startswith('cam_') else 'mIoU' in metrics


def held_out_cam(row):
    """(train CAM mIoU at the background threshold that is best on val, that threshold); None without both sweeps."""
    if 'cam_val' not in row or 'cam_train' not in row:
        return None, None
    thr = row['cam_val']['best_thr']
    return row['cam_train'].get(f'mIoU@{thr:.2f}'), thr


def metric_of(row, key, field):
    """A number of a result row (``key`` None: a top-level field); ``held_out`` is :func:`held_out_cam`'s."""
    if field == 'held_out':
        return held_out_cam(row)[0]
    return row.get(field) if key is None else row[key].get(field)


def parse_args():
    parser = argparse.ArgumentParser(description='mmwsss demo: WSSS on WeakShapes on a CPU')
    parser.add_argument('--methods', nargs='+', default=['mcc'], choices=sorted(CONFIGS))
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--data-root', default='data/weakshapes')
    parser.add_argument('--iters', type=int, default=None, help='training iterations (default: the config\'s)')
    parser.add_argument('--num-overlays', type=int, default=6)
    parser.add_argument('--seeds', nargs='+', type=int, default=[0],
                        help='train every method with each of these seeds (randomness.seed); more than one adds '
                        'mean ± std and the paired difference to --baseline')
    parser.add_argument('--baseline', default=None, help='the method the others are compared with, seed by seed '
                        '(default: the first of --methods)')
    parser.add_argument('--records', default=None,
                        help='keep each finished run\'s records (config dump, training log, evaluation records, '
                        'result.json; no checkpoints or images) in RECORDS/<run folder>, and reuse the runs found '
                        'there: the records of a README table, committed, let a comparison go on on another machine')
    parser.add_argument('--force', action='store_true',
                        help='retrain and re-evaluate methods whose results are already in the work dir')
    args = parser.parse_args()
    args.seeds = list(dict.fromkeys(args.seeds))  # a repeated seed would be the same run twice
    args.baseline = args.baseline or args.methods[0]
    if args.baseline not in args.methods:
        parser.error(f'--baseline {args.baseline} is not one of --methods {" ".join(args.methods)}')
    return args


def run(cmd):
    print('\n$ ' + ' '.join(shlex.quote(c) for c in cmd), flush=True)
    start = time.perf_counter()
    subprocess.run(cmd, cwd=REPO, check=True)
    return time.perf_counter() - start


def latest_metrics(test_dir):
    """Metrics of the newest tools/test.py run in ``test_dir`` (its wsss_eval.json record)."""
    files = sorted(glob.glob(osp.join(REPO, test_dir, '*', 'wsss_eval.json')), key=os.path.getmtime)
    with open(files[-1]) as f:
        return json.load(f)['metrics']


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
    """Val images with a CAM per labelled class and the segmentation prediction | GT, one PNG."""
    from mmwsss.utils.offline import load_segmentor, split_dataset
    from mmwsss.visualization import cam_rows, draw_cam_grid

    model, cfg = load_segmentor(config, checkpoint, {'val_dataloader.dataset.data_root': root})
    dataset = split_dataset(cfg, loader='val_dataloader')
    draw_cam_grid(cam_rows(model, dataset, range(num)), dataset.metainfo, out_file)


def run_dir(work_dir, method, seed):
    """One run's folder: seed 0 keeps the single-seed path (old work dirs stay valid), other seeds are siblings."""
    return osp.join(work_dir, method if seed == 0 else f'{method}-seed{seed}')


def dumped_seed(work_dir):
    """``randomness.seed`` of the config dump an earlier training left in ``work_dir``; None before any."""
    from mmengine.config import Config
    try:
        dump = training_config(osp.join(REPO, work_dir))
    except FileNotFoundError:
        return None
    return (Config.fromfile(dump).get('randomness') or {}).get('seed')


def restore_records(records, work_dir):
    """Copy a finished run's records into an empty run folder (so the comparison reuses it); True when done."""
    kept = osp.join(REPO, records, osp.basename(work_dir))
    if not osp.isfile(osp.join(kept, 'result.json')) or osp.isfile(osp.join(REPO, work_dir, 'result.json')):
        return False
    shutil.copytree(kept, osp.join(REPO, work_dir), dirs_exist_ok=True)
    print(f'reusing the records of {kept}')
    return True


def keep_records(records, work_dir):
    """Copy a finished run's folder to ``records`` without checkpoints, images and repeated config dumps.

    The run folder's own dump (``<work_dir>/<config>.py``, what the report tools read) is kept; the copies MMEngine
    writes beside every log (``vis_data/config.py``) and into every test folder are the same config again.
    """
    src = osp.join(REPO, work_dir)

    def ignore(folder, names):
        dumps = [n for n in names if n.endswith('.py')] if osp.abspath(folder) != osp.abspath(src) else []
        return shutil.ignore_patterns('*.pth', 'last_checkpoint', '*.png')(folder, names) | set(dumps)

    shutil.copytree(src, osp.join(REPO, records, osp.basename(work_dir)), dirs_exist_ok=True, ignore=ignore)


def save_row(result_file, row):
    """Written after every step, so a killed comparison redoes only the steps that had not finished."""
    with open(result_file, 'w') as f:
        json.dump(row, f, indent=2)


def run_method(method, seed, args, py):
    config = CONFIGS[method]
    work_dir = run_dir(args.work_dir, method, seed)
    name = f'{method} (seed {seed})'
    result_file = osp.join(REPO, work_dir, 'result.json')
    if args.records and not args.force:
        restore_records(args.records, work_dir)
    trained_seed = dumped_seed(work_dir)
    if trained_seed is not None and trained_seed != seed:  # pairing by seed would compare the wrong runs
        raise SystemExit(f'{work_dir} was trained with seed {trained_seed}, not {seed}; move it away or use another '
                         '--work-dir')
    row = {}
    if osp.isfile(result_file) and not args.force:  # finished earlier (e.g. `--methods mcc toco` after mcc)
        with open(result_file) as f:
            row = json.load(f)
        row.setdefault('seed', seed)  # results of the single-seed demo name no seed: theirs is the configs' 0
        for key in [k for k, *_ in EVALS if k in row and not _complete(k, row[k])]:
            del row[key]  # from an older demo (e.g. CAM without the threshold sweep)
        missing = [k for k, *_ in EVALS if k not in row] + ([] if 'overlays' in row else ['overlays'])
        if not missing:
            print(f'\n{name}: reusing {result_file} (--force to redo)')
            if args.records:
                keep_records(args.records, work_dir)
            return row
        print(f'\n{name}: {result_file} lacks {missing}; running those')
    root = args.data_root
    train_opts = [f'{k}.dataset.data_root={root}' for k in ('train_dataloader', 'val_dataloader')]
    train_opts.append(f'randomness.seed={seed}')
    if args.iters:
        train_opts += [f'train_cfg.max_iters={args.iters}', f'train_cfg.val_interval={args.iters}',
                       f'param_scheduler.1.end={args.iters}']
    from mmengine.config import Config
    max_iters = args.iters or Config.fromfile(osp.join(REPO, config)).train_cfg.max_iters
    final_ckpt = osp.join(REPO, work_dir, f'iter_{max_iters}.pth')
    if osp.isfile(final_ckpt) and not args.force:  # trained earlier: only evaluate again
        print(f'\n{name}: reusing the trained {final_ckpt} (--force to retrain)')
        t_train = float('nan')
    else:  # (an interrupted run resumes from its last checkpoint)
        resume = ['--resume'] if not args.force and osp.isfile(osp.join(REPO, work_dir, 'last_checkpoint')) else []
        t_train = run([py, 'tools/train.py', config, '--work-dir', work_dir, *resume, '--cfg-options',
                       *train_opts])
    ckpt = final_ckpt
    if t_train != t_train and 'train_s' in row:  # keep the training time measured when it was trained
        t_train = row['train_s']
    row.update(method=method, seed=seed, train_s=t_train, s_per_iter=seconds_per_iter(osp.join(REPO, work_dir)))
    save_row(result_file, row)
    for key, split, output, flags, metric in EVALS:
        if key in row and not args.force:
            continue
        test_dir = osp.join(work_dir, f'test_{key}')
        t = run([py, 'tools/test.py', config, ckpt, '--work-dir', test_dir, *flags, '--cfg-options',
                 *data_options(root, split), f'model.test_cfg.output={output}', f'test_evaluator.type={metric}'])
        row[key] = latest_metrics(test_dir)
        row[key + '_s'] = t
        save_row(result_file, row)
    overlay = osp.join(work_dir, 'overlays.png')
    save_overlays(config, ckpt, root, osp.join(REPO, overlay), args.num_overlays)
    row['overlays'] = overlay
    save_row(result_file, row)
    if args.records:
        keep_records(args.records, work_dir)
    return row


def train_time(seconds):
    return 'trained earlier' if seconds != seconds else f'{seconds / 60:.1f} min'  # NaN: reused checkpoint


def compute_seconds(rows):
    """Training plus evaluation seconds of ``rows``, summed from what each run recorded when it ran.

    A comparison reused from records (another session, another machine) took far longer than the invocation that
    prints it; this is its cost on the machine(s) that ran it. Runs whose training time was not measured (a reused
    checkpoint) count their evaluations only.
    """
    total = 0.0
    for r in rows:
        for key in ['train', *(k for k, *_ in EVALS)]:
            seconds = r.get(key + '_s')
            if seconds is not None and seconds == seconds:
                total += seconds
    return total


def seed_tables(runs, methods, seeds, baseline):
    """Mean ± std (n) per method, then each method minus ``baseline`` paired by seed with its 95% interval."""
    values = {m: {label: {s: metric_of(runs[m, s], key, field) for s in seeds} for label, key, field in SEED_METRICS}
              for m in methods}
    lines = ['| method | ' + ' | '.join(label for label, *_ in SEED_METRICS) + ' |',
             '|---|' + '---|' * len(SEED_METRICS)]
    for m in methods:
        lines.append(f'| {m} | ' + ' | '.join(format_summary(values[m][label].values()) for label, *_ in SEED_METRICS)
                     + ' |')
    others = [m for m in methods if m != baseline]
    if others:
        lines += ['', f'| method - {baseline} | metric | per seed ({", ".join(map(str, seeds))}) '
                  '| mean [95% interval] (n) | p (paired t) |', '|---|---|---|---|---|']
    for m in others:
        for label, *_ in SEED_METRICS:
            mine, base = values[m][label], values[baseline][label]
            d = paired_difference(mine, base)
            per_seed = ', '.join('-' if mine[s] is None or base[s] is None else f'{mine[s] - base[s]:+.2f}'
                                 for s in seeds)
            p = '-' if d.p is None else f'{d.p:.3f}'
            lines.append(f'| {m} | {label} | {per_seed} | {format_difference(d, with_p=False)} | {p} |')
    return '\n'.join(lines)


def main():
    args = parse_args()
    py = sys.executable
    start = time.perf_counter()
    t_data = run([py, 'tools/dataset_converters/make_weakshapes.py', args.data_root])
    runs = {}
    for seed in args.seeds:  # seeds outside: a kill leaves complete seeds of the comparison behind
        for m in args.methods:
            runs[m, seed] = run_method(m, seed, args, py)
    multi_seed = len(args.seeds) > 1
    rows = [dict(runs[m, s], label=f'{m} (seed {s})' if multi_seed else runs[m, s]['method'])
            for m in args.methods for s in args.seeds]
    baselines_val = trivial_baselines(osp.join(REPO, args.data_root), 'val', 6)
    baselines_train = trivial_baselines(osp.join(REPO, args.data_root), 'train', 6)
    total = time.perf_counter() - start

    lines = ['| method | CAM mIoU (train) | CAM best thr (train) | CAM at val-chosen thr (train) | pseudo mIoU (train) '
             '| pseudo mIoU covered / coverage | seg mIoU (val) | MS+flip | MS+flip+CRF | s/iter | train time |',
             '|---|---|---|---|---|---|---|---|---|---|---|']
    for r in rows:
        cam, pseudo = r['cam_train'], r['pseudo_train']
        held_out, held_out_thr = held_out_cam(r)
        held_out = '-' if held_out is None else f'{held_out:.2f} ({held_out_thr:.2f})'
        lines.append(f'| {r["label"]} | {cam["mIoU"]:.2f} | {cam["best_mIoU"]:.2f} ({cam["best_thr"]:.2f}) | '
                     f'{held_out} | '
                     f'{pseudo["mIoU"]:.2f} | {pseudo["mIoU_covered"]:.2f} / {pseudo["coverage"]:.1f}% | '
                     f'{r["seg_val"]["mIoU"]:.2f} | {r["seg_val_ms"]["mIoU"]:.2f} | {r["seg_val_ms_crf"]["mIoU"]:.2f} | '
                     f'{r.get("s_per_iter", float("nan")):.2f} | {train_time(r["train_s"])} |')
    for name in baselines_val:
        lines.append(f'| baseline: {name} | {baselines_train[name]:.2f} | | | | | {baselines_val[name]:.2f} | | | | |')
    table = '\n'.join(lines)
    print('\n=== mmwsss demo: WeakShapes, image-level labels only, CPU ===')
    print(table)
    print('CAM: multi-scale + flip, background score 0.5 (best: of the 0.00-0.60 sweep on train itself, an optimistic '
          'bound; val-chosen: the train mIoU at the threshold that is best on val); MS+flip: scales 1/1.25/1.5, '
          'max over scales of image+flip logits (WSSSTTAModel); CRF: DenseCRF 1/1/121/5/4, 10 it.; pseudo: PAR labels with the 255 band (mIoU counts the '
          'band as misses; "covered" scores only labelled pixels); s/iter: mean of the training log\'s iteration '
          'times (CPU, this machine, all methods of one run share it only when trained in the same run)')
    if multi_seed:
        seeds_text = seed_tables(runs, args.methods, args.seeds, args.baseline)
        table += f'\n\nOver seeds {" ".join(map(str, args.seeds))}: mean ± std (n)\n\n' + seeds_text
        print(f'\n=== over seeds {" ".join(map(str, args.seeds))}: mean ± std (n); paired by seed vs {args.baseline} '
              '===')
        print(seeds_text)
        print('std: sample standard deviation over seeds. Paired: method minus baseline on the same seed; the 95% '
              'interval is the t interval of the mean difference (n - 1 degrees of freedom): one that contains 0 '
              'means these seeds do not show which method is better.')
    for r in rows:
        print(f'overlays ({r["label"]}): {r["overlays"]}')
    print(f'data {t_data:.0f} s; total wall time {total / 60:.1f} min')
    compute = compute_seconds(rows)
    compute_line = (f'compute time of the {len(rows)} runs (training + evaluations, as each recorded it when it ran): '
                    f'{compute / 60:.1f} min ({compute / 3600:.2f} h)')
    print(compute_line)
    if multi_seed:
        dirs = ' '.join(run_dir(args.work_dir, m, s) for m in args.methods for s in args.seeds)
        print(f'model-zoo tables: python tools/analysis_tools/model_zoo_report.py {dirs} --baseline {args.baseline}')
    with open(osp.join(REPO, args.work_dir, 'summary.md'), 'w') as f:
        f.write(table + f'\n\ntotal wall time {total / 60:.1f} min\n{compute_line}\n')


if __name__ == '__main__':
    main()
