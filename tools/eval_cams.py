# CAM ("seed") and pseudo-label quality of a WSSS checkpoint on a split with GT masks (VOC: train, 1,464 images).
#
#   python tools/eval_cams.py configs/mcc_voc.py work_dirs/mcc_voc/iter_20000.pth --split train
#
# Runs tools/test.py twice and prints one table:
#   1. CAM seeds (multi-scale + flip CAM, constant background score): mIoU at the config's fixed threshold
#      (test_cfg.bkg_thr: 0.5 VOC, 0.45 COCO) and at every threshold of --thresholds, with the best;
#   2. PAR pseudo labels (the training-time refinement, with its 255 ignore band): mIoU counting the band as misses,
#      mIoU over the labelled pixels only (ToCo's pseudo_scores convention) and the coverage.
# The records land in <work-dir>/test_cam_<split> and test_pseudo_<split> (wsss_eval.json each), where
# tools/analysis_tools/model_zoo_report.py finds them.
import argparse
import glob
import json
import os.path as osp
import subprocess
import sys

import numpy as np

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def parse_args():
    parser = argparse.ArgumentParser(description='CAM seed (threshold sweep) and pseudo-label mIoU of a checkpoint')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--split', default='train', help='split list under ImageSets/Segmentation (default: train)')
    parser.add_argument('--data-root', help='override the config\'s data_root')
    parser.add_argument('--work-dir', help='where the records go (default: the checkpoint\'s directory)')
    parser.add_argument('--thresholds', default='0:0.6:0.05',
                        help='background thresholds: start:stop:step (inclusive) or a comma list')
    parser.add_argument('--cam', choices=['final', 'aux'], default='final', help='which CAM to score')
    parser.add_argument('--skip-pseudo', action='store_true', help='CAM seeds only')
    return parser.parse_args()


def parse_thresholds(text):
    if ':' in text:
        start, stop, step = (float(x) for x in text.split(':'))
        return [round(float(t), 4) for t in np.arange(start, stop + step / 2, step)]
    return [float(t) for t in text.split(',')]


def run_test(args, output, evaluator_opts, work_dir):
    opts = [f'model.test_cfg.output={output}', f'model.test_cfg.cam={args.cam}',
            f'test_dataloader.dataset.ann_file=ImageSets/Segmentation/{args.split}.txt', *evaluator_opts]
    if args.data_root:
        opts.append(f'test_dataloader.dataset.data_root={args.data_root}')
    cmd = [sys.executable, osp.join(REPO, 'tools', 'test.py'), args.config, args.checkpoint, '--work-dir', work_dir,
           '--cfg-options', *opts]
    print('$ ' + ' '.join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    records = sorted(glob.glob(osp.join(work_dir, '*', 'wsss_eval.json')), key=osp.getmtime)
    with open(records[-1]) as f:
        return json.load(f)


def main():
    args = parse_args()
    work_dir = args.work_dir or osp.dirname(osp.abspath(args.checkpoint))
    thresholds = parse_thresholds(args.thresholds)
    cam = run_test(args, 'cam', ['test_evaluator.type=CAMThresholdSweepMetric',
                                 f'test_evaluator.thresholds=[{",".join(map(str, thresholds))}]'],
                   osp.join(work_dir, f'test_cam_{args.split}'))['metrics']
    lines = [f'## CAM seeds ({args.cam} CAM, multi-scale + flip) on {args.split}', '',
             '| background threshold | mIoU |', '|---|---|']
    lines += [f'| {t:.2f}{" (best)" if t == cam["best_thr"] else ""} | {cam[f"mIoU@{t:.2f}"]:.2f} |'
              for t in thresholds]
    lines += ['', f'fixed threshold (config test_cfg.bkg_thr): mIoU {cam["mIoU"]:.2f}; '
              f'best of the sweep: {cam["best_mIoU"]:.2f} at {cam["best_thr"]:.2f}']
    if not args.skip_pseudo:
        pseudo = run_test(args, 'pseudo', ['test_evaluator.type=WSSSIoUMetric'],
                          osp.join(work_dir, f'test_pseudo_{args.split}'))['metrics']
        lines += ['', f'## PAR pseudo labels on {args.split}', '',
                  '| mIoU (ignored pixels count as misses) | mIoU (labelled pixels only) | coverage |', '|---|---|---|',
                  f'| {pseudo["mIoU"]:.2f} | {pseudo["mIoU_covered"]:.2f} | {pseudo["coverage"]:.1f}% |']
    print('\n' + '\n'.join(lines))


if __name__ == '__main__':
    main()
