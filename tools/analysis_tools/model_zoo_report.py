# Model-zoo tables from work dirs: MMSeg's format, a WSSS table, and metafile.yaml.
#
#   python tools/analysis_tools/model_zoo_report.py work_dirs/ablation_msfc/{toco,mcc,msfc} \
#       [--out-md report.md] [--metafile configs/mcc/metafile.yaml] [--dataset WeakShapes] [--baseline toco]
#   python tools/analysis_tools/model_zoo_report.py work_dirs/seeds_dupl/*/ --baseline toco \
#       --update-readme configs/dupl/README.md --metafile configs/dupl/metafile.yaml
#   python tools/analysis_tools/model_zoo_report.py work_dirs/seeds/msfc* --baseline msfc \
#       --update-readme configs/msfc/README.md --block ablation       (a second table: <!-- model-zoo:ablation:begin -->)
#
# Seeds: work dirs of one config (same config dump name, schedule, batch, crop and dataset) make one row over their
# seeds, each run's seed read from its config dump (randomness.seed), so the folder names do not matter: pass every
# seed's work dir (the second line: all runs of a `tools/demo.py --seeds 0 1 2` comparison, whose seeds are sibling
# folders <method>, <method>-seed1, ...). Two work dirs of one config with the same seed are an error. A row of several
# seeds shows every number as mean ± std (n) (sample std; the CAM threshold as each seed's best), and
# `--baseline <method>` adds a table of each other row minus the baseline, paired by seed: mean [95% interval] (n)
# and the paired t-test p (mmwsss/utils/seed_stats.py). The metafile gets the mean as the metric, `<metric> std`
# beside it, with --baseline `<metric> minus <baseline>` and its `95% low`/`95% high`/`p`, the seeds as Metadata
# `Seeds`, and the lowest seed's checkpoint as Weights. A single-seed row renders as it did before seeds were grouped.
#
# Each argument is a tools/train.py work dir: its config dump names the method, backbone, crop and schedule, its
# logs give s/iter and (CUDA) memory, and the evaluation records under it (tools/test.py writes wsss_eval.json;
# tools/eval_cams.py and tools/demo.py put their test runs in <work_dir>/test_*) give the numbers:
#   mIoU               seg output on val, single scale            mIoU(ms+flip)   the same with --tta (no CRF)
#   val MS+flip+CRF    --ms-flip-crf                              CAM / pseudo    cam / pseudo output on train
# When several runs of one kind exist, the newest counts. A missing number is '-'.
import argparse
import os.path as osp
import shlex
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO)

from mmwsss.utils.seed_stats import (format_difference, format_summary, paired_difference,  # noqa: E402
                                     summarise)
from mmwsss.utils.work_dir import (eval_records, metric, newest, peak_memory_gb, seconds_per_iter,  # noqa: E402
                                   training_config)

METHOD_NAMES = {'toco': 'ToCo', 'mcc': 'MCC', 'msfc': 'MSFC', 'dupl': 'DuPL'}
DATASET_NAMES = {'WeakVOCDataset': 'Pascal VOC 2012 + SBD', 'WeakCOCODataset': 'COCO 2014',
                 'WeakShapesDataset': 'WeakShapes'}
PAPERS = {
    'ToCo': ('Token Contrast for Weakly-Supervised Semantic Segmentation', 'https://arxiv.org/abs/2303.01267'),
    'MCC': ('Masked Collaborative Contrast for Weakly Supervised Semantic Segmentation',
            'https://arxiv.org/abs/2305.08491'),
    'MSFC': ('Multi-Source Feature Contrast for weakly supervised semantic segmentation', None),
    'DuPL': ('DuPL: Dual Student with Trustworthy Progressive Learning for Robust Weakly Supervised Semantic '
             'Segmentation', 'https://arxiv.org/abs/2403.11184'),
}


def parse_args():
    parser = argparse.ArgumentParser(description='MMSeg-style model-zoo tables from mmwsss work dirs')
    parser.add_argument('work_dirs', nargs='+')
    parser.add_argument('--out-md', help='also write the tables to this markdown file')
    parser.add_argument('--metafile', help='write an OpenMMLab metafile.yaml here')
    parser.add_argument('--update-readme', help='replace the block between the model-zoo markers of this README '
                        '(<!-- model-zoo:begin --> ... <!-- model-zoo:end -->) with the tables')
    parser.add_argument('--block', default=None, help='with --update-readme: the block named NAME instead '
                        '(<!-- model-zoo:NAME:begin --> ... <!-- model-zoo:NAME:end -->), for a second table in '
                        'one README, e.g. an ablation against another baseline')
    parser.add_argument('--dataset', default=None, help='dataset name for the metafile (default: from the config)')
    parser.add_argument('--baseline', default=None, help='method (or config name) the other rows are compared with, '
                        'paired by seed, with a 95%% interval')
    return parser.parse_args()


def fmt(value, digits=2):
    return '-' if value is None or value != value else f'{value:.{digits}f}'


def describe(work_dir):
    """Everything the tables need from one training work dir."""
    from mmengine.config import Config
    cfg_path = training_config(work_dir)
    cfg = Config.fromfile(cfg_path)
    name = osp.splitext(osp.basename(cfg_path))[0]
    fields = name.split('_')
    records = eval_records(work_dir)
    if not records:
        raise SystemExit(f'{work_dir}: no evaluation records (wsss_eval.json or test runs with metrics); run '
                         'tools/test.py CONFIG CKPT --work-dir <work_dir>/test_seg_val first')
    seg = newest(records, 'seg', 'val', tta=False, crf=False)
    ms = newest(records, 'seg', 'val', tta=True, crf=False)
    ms_crf = newest(records, 'seg', 'val', tta=True, crf=True)
    cam = newest(records, 'cam', 'train', tta=False, crf=False)
    # the threshold that is best on val scores the train CAMs: a held-out choice (the train sweep's best is not)
    held_out_thr = metric(newest(records, 'cam', 'val', tta=False, crf=False), 'best_thr')
    pseudo = newest(records, 'pseudo', 'train', tta=False, crf=False)
    crop = cfg.get('crop_size') or cfg.model.get('data_preprocessor', {}).get('size')
    config_file = osp.join('configs', fields[0].split('-')[0], name + '.py')
    ckpt = osp.join(work_dir, f'iter_{cfg.train_cfg.max_iters}.pth')
    return dict(
        name=name, method=fields[0], collection=METHOD_NAMES.get(fields[0].split('-')[0], fields[0]),
        backbone=fields[1] if len(fields) > 1 else '-', crop=f'{crop[0]}x{crop[1]}' if crop else '-',
        iters=cfg.train_cfg.max_iters, batch=cfg.train_dataloader.batch_size,
        dataset=DATASET_NAMES.get(cfg.train_dataloader.dataset.type, cfg.train_dataloader.dataset.type),
        mem=peak_memory_gb(work_dir), fps=seg.get('images_per_s') if seg else None,
        device=(seg or {}).get('device') or '-', seg=metric(seg), ms=metric(ms), ms_crf=metric(ms_crf),
        cam=metric(cam), cam_best=metric(cam, 'best_mIoU'), cam_best_thr=metric(cam, 'best_thr'),
        cam_held_out=None if held_out_thr is None else metric(cam, f'mIoU@{held_out_thr:.2f}'),
        cam_held_out_thr=held_out_thr,
        pseudo=metric(pseudo), pseudo_covered=metric(pseudo, 'mIoU_covered'), coverage=metric(pseudo, 'coverage'),
        s_iter=seconds_per_iter(work_dir), merge=(ms_crf or ms or {}).get('merge'),
        crf=(ms_crf or {}).get('crf'), config=config_file if osp.isfile(osp.join(REPO, config_file)) else cfg_path,
        weights=ckpt if osp.isfile(ckpt) else None, seed=(cfg.get('randomness') or {}).get('seed'), work_dir=work_dir)


def group_seeds(runs):
    """One row per config: the first run's fields plus ``runs``, its runs in seed order (rows in argument order).

    Runs are of one config when the dump's name, schedule, batch, crop and dataset agree (a `--iters` override is
    another experiment); two of them with the same seed would make the pairing ambiguous.
    """
    groups = {}
    for r in runs:
        groups.setdefault((r['name'], r['iters'], r['batch'], r['crop'], r['dataset']), []).append(r)
    rows = []
    for members in groups.values():
        seeds = [m['seed'] for m in members]
        twice = sorted({str(s) for s in seeds if seeds.count(s) > 1})
        if twice:
            dirs = ', '.join(m['work_dir'] for m in members if str(m['seed']) in twice)
            raise SystemExit(f'{members[0]["name"]}: seed {", ".join(twice)} in several work dirs ({dirs}); pass one '
                             'work dir per seed')
        members = sorted(members, key=lambda m: (m['seed'] is None, m['seed'] if m['seed'] is not None else 0))
        rows.append(dict(members[0], runs=members))
    return rows


def cell(row, key, digits=2):
    """One number as before for a single run; mean ± std (n) over the runs of a multi-seed row."""
    if len(row['runs']) == 1:
        return fmt(row[key], digits)
    return format_summary([r[key] for r in row['runs']], digits)


def measured(row, key):
    return any(r[key] is not None for r in row['runs'])


def joined(row, key):
    """The distinct values of a text field over a row's runs (the device, the checkpoints)."""
    return ', '.join(dict.fromkeys(str(r[key]) for r in row['runs'] if r[key] and r[key] != '-'))


def crf_text(crf):
    """``dict(type='DenseCRF', gaussian_sxy=1, ...)`` -> ``'1/1/121/5/4, 10 iterations'`` (unset keys: defaults)."""
    from mmwsss.postprocessing import DenseCRF
    c = DenseCRF(**{k: v for k, v in crf.items() if k != 'type'})
    return (f'{c.gaussian_sxy}/{c.gaussian_compat}/{c.bilateral_sxy}/{c.bilateral_srgb}/{c.bilateral_compat}, '
            f'{c.iterations} iterations')


# (column, field) of the --baseline table
DIFFERENCES = [('mIoU', 'seg'), ('mIoU(ms+flip)', 'ms'), ('val MS+flip+CRF', 'ms_crf'), ('CAM mIoU (train)', 'cam'),
               ('CAM best of sweep', 'cam_best'), ('CAM at val-chosen thr', 'cam_held_out'),
               ('pseudo mIoU (train)', 'pseudo')]


def find_baseline(rows, baseline):
    match = [r for r in rows if baseline in (r['method'], r['name'])]
    if len(match) != 1:
        raise SystemExit(f'--baseline {baseline}: {"several rows match; name the config" if match else "no row"} '
                         f'(rows: {", ".join(r["name"] for r in rows)})')
    return match[0]


def row_difference(row, base, key):
    """``row`` minus ``base`` on field ``key``, paired by seed (the README table and the metafile use this)."""
    return paired_difference({x['seed']: x[key] for x in row['runs']}, {b['seed']: b[key] for b in base['runs']})


def difference_table(rows, baseline):
    """Each row minus the baseline row on the seeds both have: mean [95% interval] (n), p."""
    base = find_baseline(rows, baseline)
    out = ['| Method | minus | seeds | ' + ' | '.join(c for c, _ in DIFFERENCES) + ' |',
           '|---|---|---|' + '---|' * len(DIFFERENCES)]
    for r in rows:
        if r is base:
            continue
        shared = [x['seed'] for x in r['runs'] if x['seed'] in {b['seed'] for b in base['runs']}]
        diffs = [format_difference(row_difference(r, base, key)) for _, key in DIFFERENCES]
        out.append(f'| {r["method"]} | {base["method"]} | {", ".join(map(str, shared)) or "-"} | '
                   + ' | '.join(diffs) + ' |')
    return out


def tables(rows, command, link_dir=REPO, baseline=None):
    """The markdown; config links relative to ``link_dir`` (the README's folder with --update-readme).

    ``rows`` come from :func:`group_seeds`; with ``baseline`` a table of paired differences follows.
    """
    out = ['| Method | Backbone | Crop Size | Lr schd | Mem (GB) | Inf time (fps) | Device | mIoU | mIoU(ms+flip) '
           '| config | download |', '|---|---|---|---|---|---|---|---|---|---|---|']
    for r in rows:
        weights = joined(r, 'weights')
        out.append(f'| {r["method"]} | {r["backbone"]} | {r["crop"]} | {r["iters"]} | {cell(r, "mem")} | '
                   f'{cell(r, "fps")} | {joined(r, "device") or "-"} | {cell(r, "seg")} | {cell(r, "ms")} | '
                   f'[config]({osp.relpath(osp.join(REPO, r["config"]), link_dir)}) | '
                   f'{"local: " + weights if weights else "-"} |')
    out += ['', '| Method | Backbone | CAM mIoU (train) | CAM best of sweep (thr) | CAM at val-chosen thr (thr) | '
            'pseudo mIoU (train) | pseudo covered / coverage | val mIoU | val MS+flip | val MS+flip+CRF | s/iter |',
            '|---|---|---|---|---|---|---|---|---|---|---|']
    for r in rows:
        thr = '/'.join(fmt(x['cam_best_thr']) for x in r['runs'])  # each seed's own best threshold
        best = f'{cell(r, "cam_best")} ({thr})' if measured(r, 'cam_best') else '-'
        val_thr = '/'.join(fmt(x['cam_held_out_thr']) for x in r['runs'])
        held_out = f'{cell(r, "cam_held_out")} ({val_thr})' if measured(r, 'cam_held_out') else '-'
        cov = f'{cell(r, "pseudo_covered")} / {cell(r, "coverage", 1)}%' if measured(r, 'coverage') else '-'
        out.append(f'| {r["method"]} | {r["backbone"]} | {cell(r, "cam")} | {best} | {held_out} | '
                   f'{cell(r, "pseudo")} | {cov} | '
                   f'{cell(r, "seg")} | {cell(r, "ms")} | {cell(r, "ms_crf")} | {cell(r, "s_iter")} |')
    if baseline:
        out += [''] + difference_table(rows, baseline)
    runs = [x for r in rows for x in r['runs']]
    merges = sorted({r['merge'] for r in runs if r['merge']})
    crfs = sorted({crf_text(r['crf']) for r in runs if r['crf']})
    notes = ['', 'mIoU: single scale, val. ms+flip: scales of the config\'s tta_pipeline, merge '
             + (', '.join({'max': 'max over scales of (image + flip) logits (the papers\' rule)',
                           'mean': 'mean of softmax (MMSeg SegTTAModel)'}.get(m, m) for m in merges) or '-')
             + '. CRF: DenseCRF gaussian sxy/compat, bilateral sxy/srgb/compat ' + (', '.join(crfs) or '-') + '.',
             'CAM: multi-scale + flip CAM seed at the config\'s bkg_thr; best of sweep: the best background '
             'threshold on train itself (chosen on the images it scores: an optimistic bound); val-chosen: train '
             'CAMs at the threshold that is best on val. pseudo: PAR labels, band pixels as misses; covered: '
             'labelled pixels only.',
             'Inf time: images/s of the single-scale tools/test.py run (data loading included). Mem: peak CUDA '
             'memory from the training log (\'-\' for CPU runs). s/iter: mean logged training iteration time.']
    if any(len(r['runs']) > 1 for r in rows):
        notes.append('mean ± std (n): over the n seeds of a row (sample std; seeds: '
                     + '; '.join(f'{r["method"]} {", ".join(str(x["seed"]) for x in r["runs"])}' for r in rows)
                     + '); the CAM threshold is each seed\'s best.')
    if baseline:
        notes.append('minus: the row minus the baseline on the seeds both have, mean [95% interval] (n), p of the '
                     'paired t-test. The interval is the t interval of the mean difference (n - 1 degrees of '
                     'freedom); one that contains 0 means these seeds do not show which is better. One seed: no '
                     'interval.')
    notes.append(f'Produced by: `{command}`')
    return '\n'.join(out + notes)


def paired_metrics(row, base):
    """Metafile entries of ``row`` minus the baseline row, paired by seed (numbers only, as metafile metrics are).

    ``'mIoU minus toco': 2.0`` and, with two or more shared seeds, the 95% interval's ends and the paired t-test p
    (``'... 95% low'``, ``'... 95% high'``, ``'... p'``); a metric either row lacks is left out.
    """
    out = {}
    for name, key in METAFILE_METRICS:
        d = row_difference(row, base, key)
        if not d.n:
            continue
        label = f'{name} minus {base["method"]}'
        out[label] = round(d.mean, 2)
        if d.low is not None:
            out[f'{label} 95% low'], out[f'{label} 95% high'] = round(d.low, 2), round(d.high, 2)
        if d.p is not None:
            out[f'{label} p'] = round(d.p, 4)
    return out


# (metafile metric, field)
METAFILE_METRICS = (('mIoU', 'seg'), ('mIoU(ms+flip)', 'ms'), ('mIoU(ms+flip+crf)', 'ms_crf'))


def metafile(rows, dataset, baseline=None):
    """An OpenMMLab metafile: per config the mean over seeds as the metric, its std, and (with ``baseline``) the
    paired difference to the baseline row with its 95% interval and p."""
    import yaml
    collections, models = {}, []
    base = find_baseline(rows, baseline) if baseline else None
    for r in rows:
        title, url = PAPERS.get(r['collection'], (r['collection'], None))
        stats = {k: summarise([x[k] for x in r['runs']]) for k in ('seg', 'ms', 'ms_crf', 'mem', 'fps')}
        several = len(r['runs']) > 1
        collections[r['collection']] = dict(Name=r['collection'], Metadata={'Training Data': dataset or r['dataset']},
                                            Paper={'Title': title, 'URL': url},
                                            README=osp.join('configs', r['collection'].lower(), 'README.md'))
        metrics = {}
        for name, key in METAFILE_METRICS:
            if stats[key].n:  # the mean is the metric, so tools that read only 'mIoU' get the multi-seed number
                metrics[name] = round(stats[key].mean, 2)
            if several and stats[key].std is not None:
                metrics[f'{name} std'] = round(stats[key].std, 2)
        if base is not None and r is not base:
            metrics.update(paired_metrics(r, base))
        meta = {'backbone': r['backbone'], 'crop size': f'({r["crop"].replace("x", ",")})', 'lr schd': r['iters'],
                'Batch Size': r['batch'], 'Training Data': dataset or r['dataset']}
        if several:
            meta['Seeds'] = [x['seed'] for x in r['runs']]
        if stats['mem'].n:
            meta['Training Memory (GB)'] = round(stats['mem'].mean, 2)
        if stats['fps'].n:
            meta['inference time (ms/im)'] = [{'value': round(1000 / stats['fps'].mean, 2),
                                               'hardware': joined(r, 'device') or '-',
                                               'backend': 'PyTorch', 'batch size': 1, 'mode': 'FP32',
                                               'resolution': 'original image size'}]
        models.append(dict(Name=r['name'], **{'In Collection': r['collection']}, Metadata=meta,
                           Results=[dict(Task='Semantic Segmentation', Dataset=dataset or r['dataset'],
                                         Metrics=metrics)],
                           Config=r['config'],
                           Weights=next((x['weights'] for x in r['runs'] if x['weights']), '-')))  # lowest seed
    return yaml.safe_dump(dict(Collections=list(collections.values()), Models=models), sort_keys=False)


def markers(block=None):
    """The begin/end comments of the unnamed block or of the block ``block``."""
    tag = 'model-zoo' if block is None else f'model-zoo:{block}'
    return f'<!-- {tag}:begin -->', f'<!-- {tag}:end -->'


def update_readme(path, text, block=None):
    """Put ``text`` between the markers of ``path`` (generated content stays separate from hand-written text)."""
    begin, end = markers(block)
    with open(path) as f:
        doc = f.read()
    if begin not in doc or end not in doc:
        raise SystemExit(f'{path}: no {begin} ... {end} block to update; add the two markers where the tables go')
    head, rest = doc.split(begin, 1)
    tail = rest.split(end, 1)[1]
    with open(path, 'w') as f:
        f.write(f'{head}{begin}\n{text}\n{end}{tail}')


def main():
    args = parse_args()
    rows = group_seeds([describe(w) for w in args.work_dirs])
    command = 'python tools/analysis_tools/model_zoo_report.py ' + ' '.join(shlex.quote(a) for a in sys.argv[1:])
    text = tables(rows, command, baseline=args.baseline)
    print(text)
    if args.out_md:
        with open(args.out_md, 'w') as f:
            f.write(text + '\n')
    if args.update_readme:
        update_readme(args.update_readme, tables(rows, command, osp.dirname(osp.abspath(args.update_readme)),
                                                 args.baseline), args.block)
        print(f'updated: {args.update_readme}')
    if args.metafile:
        with open(args.metafile, 'w') as f:
            f.write(metafile(rows, args.dataset, args.baseline))
        print(f'metafile: {args.metafile}')


if __name__ == '__main__':
    main()
