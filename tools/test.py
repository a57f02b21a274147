# Test (and optionally visualise or dump) a segmentor with mmwsss registered (MMSeg's tools/test.py interface).
import argparse
import os

from mmengine.config import DictAction
from mmengine.runner import Runner

import mmwsss  # noqa: F401  (registers mmwsss components and the safe checkpoint loader)
from mmwsss.utils.launch import load_config, setup_distributed, teardown_distributed


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and eval) a segmentor (mmwsss)')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the directory to save the file containing evaluation metrics')
    parser.add_argument('--out', type=str,
                        help='the directory to save the output prediction files (MMSeg\'s IoUMetric output_dir)')
    parser.add_argument('--show', action='store_true', help='show prediction results')
    parser.add_argument('--show-dir', help='directory where painted images will be saved')
    parser.add_argument('--wait-time', type=float, default=2, help='the interval of show (s)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override some settings in the used config, the key-value pair in xxx=yyy format will be merged '
        'into config file. If the value to be overwritten is a list, it should be like key="[a,b]" or key=a,b')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none',
                        help='job launcher')
    parser.add_argument('--tta', action='store_true', help='test-time augmentation (the config\'s tta_model)')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
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


def main():
    args = parse_args()
    cfg = load_config(args.config, args.launcher, args.cfg_options, args.work_dir)

    cfg.load_from = args.checkpoint
    if args.show or args.show_dir:
        cfg = trigger_visualization_hook(cfg, args)
    if args.tta:
        cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
        cfg.tta_model.module = cfg.model
        cfg.model = cfg.tta_model
    if args.out is not None:
        cfg.test_evaluator['output_dir'] = args.out
        cfg.test_evaluator['keep_results'] = True

    setup_distributed(cfg, args.launcher)
    runner = Runner.from_cfg(cfg)
    runner.test()
    teardown_distributed()


if __name__ == '__main__':
    main()
