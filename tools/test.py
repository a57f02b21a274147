# Test (and optionally visualise or dump) a segmentor with mmwsss registered (MMSeg's tools/test.py interface).
#
# WSSS additions:
#   --tta              multi-scale + flip with the config's tta_model (WSSSTTAModel: the papers' max-over-scales merge)
#   --crf              dense CRF (the config's `crf` dict, default DenseCRF 1/1/121/5/4, 10 it.) after the merge, run
#                      in --crf-workers processes that receive each image's logits as it is produced
#   --ms-flip-crf      both: the papers' "MS+flip+CRF" number
# Every run also writes <work-dir>/<timestamp>/wsss_eval.json (config, checkpoint, split, output, tta, merge, crf,
# metrics, images/s): what tools/analysis_tools/model_zoo_report.py turns into model-zoo tables.
import argparse
import json
import os
import os.path as osp
import platform
import time

import torch
from mmengine.config import DictAction
from mmengine.dist import is_main_process

import mmwsss  # noqa: F401  (registers mmwsss components and the safe checkpoint loader)
from mmwsss.utils import preflight
from mmwsss.utils.known_warnings import configure_known_warnings
from mmwsss.utils.launch import (build_runner, load_config, setup_distributed, suggest_registered_names,
                                 teardown_distributed)

DEFAULT_CRF = dict(type='DenseCRF')  # for configs without a `crf` entry (configs/_base_/default_runtime.py has one)


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and eval) a segmentor (mmwsss)')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the directory to save the file containing evaluation metrics')
    parser.add_argument('--out', type=str,
                        help='the directory to save the predictions as VOC-palette PNGs (one per image stem)')
    parser.add_argument('--show', action='store_true', help='show prediction results')
    parser.add_argument('--show-dir', help='directory where painted images will be saved')
    parser.add_argument('--wait-time', type=float, default=2, help='the interval of show (s)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override some settings in the used config, the key-value pair in xxx=yyy format will be merged '
        'into config file. If the value to be overwritten is a list, it should be like key="[a,b]" or key=a,b')
    parser.add_argument('--preflight-only', action='store_true',
                        help='only check that the checkpoint and the test data exist, then exit (what '
                        'tools/dist_test.sh runs before starting the processes)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
                        help='job launcher')
    parser.add_argument('--tta', action='store_true', help='test-time augmentation (the config\'s tta_model)')
    parser.add_argument('--crf', action='store_true',
                        help='dense CRF after the (merged) prediction: the config\'s `crf` or DenseCRF defaults')
    parser.add_argument('--crf-workers', type=int, default=2, help='processes running the CRF (0: inline)')
    parser.add_argument('--ms-flip-crf', action='store_true', help='--tta and --crf together (papers\' protocol)')
    parser.add_argument('--format-only', action='store_true',
                        help='no metric (split without ground truth, e.g. VOC test): only write --out')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if args.ms_flip_crf:
        args.tta = args.crf = True
    if args.format_only and not args.out:
        parser.error('--format-only needs --out (where the predictions go)')
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def trigger_visualization_hook(cfg, args):
    default_hooks = cfg.default_hooks
    if 'visualization' not in default_hooks:
        raise RuntimeError('VisualizationHook must be included in default_hooks; see the segmentation '
                           'configs under configs/_base_/schedules for an example.')
    visualization_hook = default_hooks['visualization']
    visualization_hook['draw'] = True
    if args.show:
        visualization_hook['show'] = True
        visualization_hook['wait_time'] = args.wait_time
    if args.show_dir:
        visualizer = cfg.visualizer
        visualizer['save_dir'] = args.show_dir
    return cfg


def without_annotations(pipeline):
    """``pipeline`` with every LoadAnnotations removed (also inside TestTimeAug), for splits without GT."""
    out = []
    for t in pipeline:
        if t.get('type') == 'LoadAnnotations':
            continue
        if t.get('type') == 'TestTimeAug':
            t = dict(t, transforms=[[s for s in group if s.get('type') != 'LoadAnnotations']
                                    for group in t['transforms']])
            t['transforms'] = [group for group in t['transforms'] if group]
        out.append(t)
    return out


def configure_evaluation(cfg, args):
    """Apply --tta / --crf / --out / --format-only to ``cfg``; return what the eval record says about it."""
    model_cfg = cfg.model
    test_cfg = dict(model_cfg.get('test_cfg') or {})
    info = dict(output=test_cfg.get('output', 'seg'), tta=bool(args.tta), merge=None, crf=None)
    if args.tta:
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
        cfg.tta_model.module = cfg.model
        cfg.model = cfg.tta_model
        info['merge'] = cfg.tta_model.get('merge', 'mean' if cfg.tta_model.type == 'SegTTAModel' else None)
        info['tta_scales'] = [t.get('scale_factor') for t in _tta_group(cfg.tta_pipeline, 'Resize')]
    evaluator = cfg.test_evaluator
    if args.crf or args.out or args.format_only:
        if evaluator.get('type') not in ('IoUMetric', 'WSSSIoUMetric'):
            raise SystemExit(f'--crf/--out/--format-only need test_evaluator IoUMetric or WSSSIoUMetric (it becomes '
                             f'WSSSIoUMetric); the config has {evaluator.get("type")!r}')
        evaluator['type'] = 'WSSSIoUMetric'  # IoUMetric + post-processor, palette PNGs, format-only without GT
    if args.crf:
        evaluator['post_processor'] = dict(cfg.get('crf', DEFAULT_CRF))
        evaluator['num_workers'] = args.crf_workers
        info['crf'] = dict(evaluator['post_processor'])
    if args.out is not None:
        evaluator['output_dir'] = args.out
    if args.format_only:
        evaluator['format_only'] = True
        cfg.test_dataloader.dataset.pipeline = without_annotations(cfg.test_dataloader.dataset.pipeline)
    return info


def _tta_group(pipeline, type_name):
    for t in pipeline:
        if t.get('type') == 'TestTimeAug':
            for group in t['transforms']:
                if group and all(s.get('type') == type_name for s in group):
                    return group
    return []


def main():
    configure_known_warnings()  # each known library warning once, from rank 0
    args = parse_args()
    cfg = load_config(args.config, args.launcher, args.cfg_options, args.work_dir)

    cfg.load_from = args.checkpoint
    if args.show or args.show_dir:
        cfg = trigger_visualization_hook(cfg, args)
    info = configure_evaluation(cfg, args)

    # testing loads the checkpoint over the model: pretrained weights are not needed
    if preflight.run_preflight(cfg, args.config, args.preflight_only, 'the checkpoint and data',
                               loaders=['test_dataloader'], weights=False,
                               checkpoints=[(args.checkpoint, 'checkpoint')]):
        return

    setup_distributed(cfg, args.launcher)
    with suggest_registered_names():  # components are built in from_cfg and (lazily) in test()
        runner = build_runner(cfg)
        start = time.perf_counter()
        metrics = runner.test()
    seconds = time.perf_counter() - start
    if is_main_process():
        dataset = cfg.test_dataloader.dataset
        num_images = len(runner.test_dataloader.dataset)
        record = dict(config=args.config, checkpoint=args.checkpoint, data_root=dataset.get('data_root'),
                      split=dataset.get('ann_file'), **info, metrics={k: float(v) for k, v in metrics.items()}, num_images=num_images,
                      seconds=round(seconds, 3), images_per_s=round(num_images / seconds, 3),
                      device=torch.cuda.get_device_name() if torch.cuda.is_available() else
                      f'CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)',
                      crf_workers=args.crf_workers if args.crf else None)
        with open(osp.join(runner.log_dir, 'wsss_eval.json'), 'w') as f:
            json.dump(record, f, indent=2, default=str)
        runner.logger.info(f'wsss_eval.json: {num_images} images in {seconds:.1f} s '
                           f'({num_images / seconds:.2f} images/s), record in {runner.log_dir}')
    teardown_distributed()


if __name__ == '__main__':
    main()
