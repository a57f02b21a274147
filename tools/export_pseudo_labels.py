# Export pseudo-label PNGs of a split from a WSSS checkpoint: the input of the classic second stage (a stock MMSeg
# model trained fully supervised on them, e.g. configs/second_stage/).
#
#   python tools/export_pseudo_labels.py CONFIG CKPT --out data/weakshapes/pseudo_mcc [--split train]
#          [--refine par|crf] [--no-ignore-band] [--workers 2] [--eval]
#
# The model runs in this process; refinement (CRF) and PNG writing run in --workers processes fed as the model goes.
# Resumable: a PNG that exists is complete (written under a temporary name, then renamed), so a rerun skips it.
# The split needs images and image-level labels only (no GT masks are read); --eval scores the PNGs against
# <data_root>/SegmentationClass when the split has masks there.
import argparse
import os
import os.path as osp
import sys

import numpy as np

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))


def parse_args():
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description='Write pseudo-label PNGs for a split from a WSSS checkpoint')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out', required=True, help='folder for <stem>.png')
    parser.add_argument('--split', default='train', help='list under ImageSets/Segmentation (default: train)')
    parser.add_argument('--data-root', help='override the config\'s data_root')
    parser.add_argument('--refine', choices=['par', 'crf'], default='par',
                        help='par: the training-time PAR labels; crf: CAM + dense CRF (ToCo CAM-tool parameters)')
    parser.add_argument('--no-ignore-band', action='store_true',
                        help='label every pixel (par: band pixels take the CAM seed label; crf: one CRF at bkg_thr)')
    parser.add_argument('--bkg-high', type=float, default=0.55, help='crf: high background score of the band')
    parser.add_argument('--bkg-low', type=float, default=0.35, help='crf: low background score of the band')
    parser.add_argument('--workers', type=int, default=2, help='processes for CRF + writing (0: inline)')
    parser.add_argument('--eval', action='store_true', help='score the PNGs against SegmentationClass/')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={})
    return parser.parse_args()


def build(args):
    """The segmentor (eval mode, checkpoint loaded) and the split's dataset: images + labels, no masks."""
    from mmwsss.utils.offline import load_segmentor, split_dataset

    model, cfg = load_segmentor(args.config, args.checkpoint, args.cfg_options)
    if cfg.test_dataloader.dataset.get('label_source', 'file') is None:
        raise SystemExit(f'{args.config}: the test dataset has label_source=None; pseudo labels need image-level '
                         'labels (label_source file/mask/xml)')
    return model, split_dataset(cfg, args.split, args.data_root, masks=False)


def predict(model, data, output):
    import torch
    from mmengine.dataset import pseudo_collate
    model.test_cfg['output'] = output
    with torch.no_grad():
        batch = model.data_preprocessor(pseudo_collate([data]), training=False)
        return model.predict(batch['inputs'], batch['data_samples'])[0]


def evaluate(out_dir, data_root, stems, num_classes):
    from PIL import Image

    from mmwsss.evaluation.metrics.wsss_iou_metric import score_prediction
    total_full = total_cov = None
    labelled = valid = 0
    for stem in stems:
        gt_path = osp.join(data_root, 'SegmentationClass', stem + '.png')
        if not osp.isfile(gt_path):
            raise SystemExit(f'--eval: no GT mask {gt_path}')
        full, cov, (n_lab, n_val) = score_prediction(np.asarray(Image.open(osp.join(out_dir, stem + '.png'))),
                                                     np.asarray(Image.open(gt_path)), num_classes)
        total_full = full if total_full is None else [a + b for a, b in zip(total_full, full)]
        total_cov = cov if total_cov is None else [a + b for a, b in zip(total_cov, cov)]
        labelled, valid = labelled + n_lab, valid + n_val

    def miou(areas):
        present = areas[3] > 0
        return 100 * float(np.mean(areas[0][present] / np.maximum(areas[1][present], 1)))
    return miou(total_full), miou(total_cov), 100.0 * labelled / max(valid, 1)


def main():
    args = parse_args()
    from mmengine.utils import ProgressBar

    from mmwsss.postprocessing import DenseCRF, StreamingPool
    from mmwsss.postprocessing.crf_pseudo_labels import write_pseudo_label

    model, dataset = build(args)
    os.makedirs(args.out, exist_ok=True)
    stems = [dataset.get_data_info(i)['stem'] for i in range(len(dataset))]
    todo = [i for i, s in enumerate(stems) if not osp.isfile(osp.join(args.out, s + '.png'))]
    print(f'{args.split}: {len(stems)} images, {len(stems) - len(todo)} already exported (skipped), '
          f'{len(todo)} to do -> {args.out} (refine={args.refine}, ignore band={not args.no_ignore_band})')
    crf = DenseCRF.from_preset('cam_to_label')
    bkg_thr = float(model.test_cfg.get('bkg_thr', 0.5))
    bkg_thrs = (bkg_thr, ) if args.no_ignore_band else (args.bkg_high, args.bkg_low)
    pool = StreamingPool(write_pseudo_label, num_workers=args.workers)
    bar = ProgressBar(len(todo)) if todo else None
    for i in todo:
        data = dataset[i]
        job = dict(out_path=osp.join(args.out, stems[i] + '.png'), img_path=dataset.get_data_info(i)['img_path'])
        if args.refine == 'par':
            label = predict(model, data, 'pseudo').pred_sem_seg.data[0].numpy().astype(np.uint8)
            if args.no_ignore_band:  # band pixels take the CAM seed's label at bkg_thr
                seed = predict(model, data, 'cam').pred_sem_seg.data[0].numpy().astype(np.uint8)
                label = np.where(label == 255, seed, label)
            job['label'] = label
        else:
            job.update(cam_scores=predict(model, data, 'cam').seg_logits.data.numpy(), crf=crf, bkg_thrs=bkg_thrs)
        for _ in pool.submit(job):
            bar.update()
    for _ in pool.close():
        bar.update()
    print(f'\n{len(todo)} written, {len(stems)} pseudo labels in {args.out}')
    if args.eval:
        full, covered, coverage = evaluate(args.out, dataset.data_root, stems, len(dataset.metainfo['classes']))
        print('| pseudo labels | mIoU (band = miss) | mIoU (labelled pixels) | coverage |\n|---|---|---|---|\n'
              f'| {args.refine}{"" if args.no_ignore_band else " + band"} | {full:.2f} | {covered:.2f} | '
              f'{coverage:.1f}% |')


if __name__ == '__main__':
    main()
