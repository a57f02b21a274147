# CRF throughput of the evaluation: images/s of WSSSIoUMetric's dense-CRF step with 0 (inline), 1, 2, ... workers.
#
#   python tools/analysis_tools/benchmark_crf.py CONFIG CHECKPOINT [--workers 1 2] [--num-images 200] [--tta]
#
# The model's (multi-scale + flip) logits of the first --num-images test images are computed once and kept in
# memory; then, for each worker count, the same images go through the metric's per-image job (softmax, DenseCRF with
# the config's `crf` or the defaults, argmax, IoU areas) through StreamingPool, as tools/test.py --crf does. The
# model time is excluded (it is the same for every worker count), so the numbers are the CRF stage's throughput;
# tools/test.py's wsss_eval.json gives the end-to-end images/s. Ratios are what to compare across machines.
import argparse
import os.path as osp
import sys
import time

import numpy as np
import torch
from mmengine.config import DictAction

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def parse_args():
    parser = argparse.ArgumentParser(description='Images/s of the dense-CRF evaluation stage vs worker count')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--data-root', help='override the config\'s data_root')
    parser.add_argument('--workers', type=int, nargs='+', default=[0, 1, 2])
    parser.add_argument('--num-images', type=int, default=200)
    parser.add_argument('--tta', action='store_true', help='logits from the config\'s tta_model (MS + flip)')
    parser.add_argument('--repeat', type=int, default=1, help='timed passes per worker count (best is reported)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='config overrides, as in tools/test.py')
    return parser.parse_args()


def collect_jobs(args):
    from mmengine.runner import Runner

    from mmwsss.evaluation.metrics.wsss_iou_metric import WSSSIoUMetric
    from mmwsss.utils.offline import load_segmentor

    opts = {**args.cfg_options, 'test_dataloader.num_workers': 0, 'test_dataloader.persistent_workers': False}
    if args.data_root:
        opts['test_dataloader.dataset.data_root'] = args.data_root
    model, cfg = load_segmentor(args.config, args.checkpoint, opts, tta=args.tta)
    loader = Runner.build_dataloader(cfg.test_dataloader)
    metric = WSSSIoUMetric(post_processor=dict(cfg.get('crf', dict(type='DenseCRF'))), num_workers=0)
    metric.dataset_meta = loader.dataset.metainfo
    jobs = []
    with torch.no_grad():
        for batch in loader:
            for sample in model.test_step(batch):
                jobs.append(metric._job(sample.to_dict()))
            if len(jobs) >= args.num_images:
                break
    return jobs[:args.num_images], metric.post_processor


def main():
    args = parse_args()
    from mmwsss.evaluation.metrics.wsss_iou_metric import evaluate_one
    from mmwsss.postprocessing import StreamingPool
    torch.set_num_threads(1)  # the pool is the parallelism; the main process only feeds it
    jobs, crf = collect_jobs(args)
    h, w = jobs[0]['ori_shape']
    print(f'{len(jobs)} images (first {h}x{w}, {jobs[0]["logits"].shape[0]} classes), {crf}, '
          f'logits from {"WSSSTTAModel (MS+flip)" if args.tta else "single scale"}')
    rows, reference = [], None
    for workers in args.workers:
        best = float('inf')
        for _ in range(args.repeat):
            start = time.perf_counter()
            pool = StreamingPool(evaluate_one, num_workers=workers)
            results = [r for job in jobs for r in pool.submit(job)] + pool.close()
            best = min(best, time.perf_counter() - start)
        areas = np.sum([r[0][0] for r in results], axis=0)  # intersections: identical for every worker count
        if reference is None:
            reference = areas
        assert np.array_equal(areas, reference), 'worker count changed the result'
        rows.append((workers, len(jobs) / best, best))
    base = rows[0][1]
    print('| CRF workers | images/s | seconds | speed-up vs first row |\n|---|---|---|---|')
    for workers, ips, sec in rows:
        print(f'| {workers if workers else "0 (inline)"} | {ips:.2f} | {sec:.1f} | {ips / base:.2f}x |')


if __name__ == '__main__':
    main()
