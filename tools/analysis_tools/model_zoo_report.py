# Model-zoo tables from work dirs: MMSeg's format, a WSSS table, and metafile.yaml.
#
#   python tools/analysis_tools/model_zoo_report.py work_dirs/ablation_msfc/{toco,mcc,msfc} \
#       [--out-md report.md] [--metafile configs/mcc/metafile.yaml] [--dataset WeakShapes]
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
    parser.add_argument('--dataset', default=None, help='dataset name for the metafile (default: from the config)')
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
        pseudo=metric(pseudo), pseudo_covered=metric(pseudo, 'mIoU_covered'), coverage=metric(pseudo, 'coverage'),
        s_iter=seconds_per_iter(work_dir), merge=(ms_crf or ms or {}).get('merge'),
        crf=(ms_crf or {}).get('crf'), config=config_file if osp.isfile(osp.join(REPO, config_file)) else cfg_path,
        weights=ckpt if osp.isfile(ckpt) else None)


def crf_text(crf):
    """``dict(type='DenseCRF', gaussian_sxy=1, ...)`` -> ``'1/1/121/5/4, 10 iterations'`` (unset keys: defaults)."""
    from mmwsss.postprocessing import DenseCRF
    c = DenseCRF(**{k: v for k, v in crf.items() if k != 'type'})
    return (f'{c.gaussian_sxy}/{c.gaussian_compat}/{c.bilateral_sxy}/{c.bilateral_srgb}/{c.bilateral_compat}, '
            f'{c.iterations} iterations')


def tables(rows, command, link_dir=REPO):
    """The markdown; config links relative to ``link_dir`` (the README's folder with --update-readme)."""
    out = ['| Method | Backbone | Crop Size | Lr schd | Mem (GB) | Inf time (fps) | Device | mIoU | mIoU(ms+flip) '
           '| config | download |', '|---|---|---|---|---|---|---|---|---|---|---|']
    for r in rows:
        out.append(f'| {r["method"]} | {r["backbone"]} | {r["crop"]} | {r["iters"]} | {fmt(r["mem"])} | '
                   f'{fmt(r["fps"])} | {r["device"]} | {fmt(r["seg"])} | {fmt(r["ms"])} | '
                   f'[config]({osp.relpath(osp.join(REPO, r["config"]), link_dir)}) | '
                   f'{"local: " + r["weights"] if r["weights"] else "-"} |')
    out += ['', '| Method | Backbone | CAM mIoU (train) | CAM best of sweep (thr) | pseudo mIoU (train) | '
            'pseudo covered / coverage | val mIoU | val MS+flip | val MS+flip+CRF | s/iter |',
            '|---|---|---|---|---|---|---|---|---|---|']
    for r in rows:
        best = f'{fmt(r["cam_best"])} ({fmt(r["cam_best_thr"])})' if r['cam_best'] is not None else '-'
        cov = f'{fmt(r["pseudo_covered"])} / {fmt(r["coverage"], 1)}%' if r['coverage'] is not None else '-'
        out.append(f'| {r["method"]} | {r["backbone"]} | {fmt(r["cam"])} | {best} | {fmt(r["pseudo"])} | {cov} | '
                   f'{fmt(r["seg"])} | {fmt(r["ms"])} | {fmt(r["ms_crf"])} | {fmt(r["s_iter"])} |')
    merges = sorted({r['merge'] for r in rows if r['merge']})
    crfs = sorted({crf_text(r['crf']) for r in rows if r['crf']})
    notes = ['', 'mIoU: single scale, val. ms+flip: scales of the config\'s tta_pipeline, merge '
             + (', '.join({'max': 'max over scales of (image + flip) logits (the papers\' rule)',
                           'mean': 'mean of softmax (MMSeg SegTTAModel)'}.get(m, m) for m in merges) or '-')
             + '. CRF: DenseCRF gaussian sxy/compat, bilateral sxy/srgb/compat ' + (', '.join(crfs) or '-') + '.',
             'CAM: multi-scale + flip CAM seed at the config\'s bkg_thr; best of sweep: the best background '
             'threshold. pseudo: PAR labels, band pixels as misses; covered: labelled pixels only.',
             'Inf time: images/s of the single-scale tools/test.py run (data loading included). Mem: peak CUDA '
             'memory from the training log (\'-\' for CPU runs). s/iter: mean logged training iteration time.',
             f'Produced by: `{command}`']
    return '\n'.join(out + notes)


def metafile(rows, dataset):
    import yaml
    collections, models = {}, []
    for r in rows:
        title, url = PAPERS.get(r['collection'], (r['collection'], None))
        collections[r['collection']] = dict(Name=r['collection'], Metadata={'Training Data': dataset or r['dataset']},
                                            Paper={'Title': title, 'URL': url},
                                            README=osp.join('configs', r['collection'].lower(), 'README.md'))
        metrics = {k: round(v, 2) for k, v in (('mIoU', r['seg']), ('mIoU(ms+flip)', r['ms']),
                                               ('mIoU(ms+flip+crf)', r['ms_crf'])) if v is not None}
        meta = {'backbone': r['backbone'], 'crop size': f'({r["crop"].replace("x", ",")})', 'lr schd': r['iters'],
                'Batch Size': r['batch'], 'Training Data': dataset or r['dataset']}
        if r['mem'] is not None:
            meta['Training Memory (GB)'] = round(r['mem'], 2)
        if r['fps'] is not None:
            meta['inference time (ms/im)'] = [{'value': round(1000 / r['fps'], 2), 'hardware': r['device'],
                                               'backend': 'PyTorch', 'batch size': 1, 'mode': 'FP32',
                                               'resolution': 'original image size'}]
        models.append(dict(Name=r['name'], **{'In Collection': r['collection']}, Metadata=meta,
                           Results=[dict(Task='Semantic Segmentation', Dataset=dataset or r['dataset'],
                                         Metrics=metrics)],
                           Config=r['config'], Weights=r['weights'] or '-'))
    return yaml.safe_dump(dict(Collections=list(collections.values()), Models=models), sort_keys=False)


BEGIN, END = '<!-- model-zoo:begin -->', '<!-- model-zoo:end -->'


def update_readme(path, text):
    """Put ``text`` between the markers of ``path`` (generated content stays separate from hand-written text)."""
    with open(path) as f:
        doc = f.read()
    if BEGIN not in doc or END not in doc:
        raise SystemExit(f'{path}: no {BEGIN} ... {END} block to update; add the two markers where the tables go')
    head, rest = doc.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    with open(path, 'w') as f:
        f.write(f'{head}{BEGIN}\n{text}\n{END}{tail}')


def main():
    args = parse_args()
    rows = [describe(w) for w in args.work_dirs]
    command = 'python tools/analysis_tools/model_zoo_report.py ' + ' '.join(shlex.quote(a) for a in sys.argv[1:])
    text = tables(rows, command)
    print(text)
    if args.out_md:
        with open(args.out_md, 'w') as f:
            f.write(text + '\n')
    if args.update_readme:
        update_readme(args.update_readme, tables(rows, command, osp.dirname(osp.abspath(args.update_readme))))
        print(f'updated: {args.update_readme}')
    if args.metafile:
        with open(args.metafile, 'w') as f:
            f.write(metafile(rows, args.dataset))
        print(f'metafile: {args.metafile}')


if __name__ == '__main__':
    main()
