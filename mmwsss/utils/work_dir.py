"""Read what MMEngine runs leave in a work dir: the config dump, training logs and evaluation records.

A training work dir (``tools/train.py --work-dir W``) holds ``W/<config name>.py`` (the flattened config),
``W/<timestamp>/vis_data/scalars.json`` per run (one JSON record per logged iteration), checkpoints, and, by
convention, the test runs made from it in subfolders (``W/test_*``). Every ``tools/test.py`` run writes
``<its work dir>/<timestamp>/wsss_eval.json``; test runs made before that record existed are read from MMEngine's
``<timestamp>/<timestamp>.json`` metrics and the ``vis_data/config.py`` dump of the test config.
"""
import glob
import json
import os.path as osp
from typing import Dict, List, Optional

import numpy as np


def training_config(work_dir: str) -> str:
    """The config dump of a training work dir (``<work_dir>/<name>.py``); a clear error when there is none."""
    dumps = sorted(glob.glob(osp.join(work_dir, '*.py')))
    if not dumps:
        raise FileNotFoundError(f'{work_dir}: no config dump (<work_dir>/<config name>.py); is this the work dir '
                                'of a tools/train.py run?')
    return dumps[0]


def training_records(work_dir: str) -> List[dict]:
    """Every logged training iteration of every run in the work dir (resumed runs included), in run order."""
    records = []
    for path in sorted(glob.glob(osp.join(work_dir, '2*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            records += [r for r in (json.loads(line) for line in f if line.strip()) if 'loss' in r]
    return records


def seconds_per_iter(work_dir: str) -> float:
    """Mean training s/iter over the logs of a work dir (LoggerHook's per-window ``time``); NaN without logs."""
    times = [r['time'] for r in training_records(work_dir) if 'time' in r]
    return float(np.mean(times)) if times else float('nan')


def peak_memory_gb(work_dir: str) -> Optional[float]:
    """Peak training memory in GB from the logs (MMEngine logs ``memory`` in MB on CUDA only); None without it."""
    mem = [r['memory'] for r in training_records(work_dir) if 'memory' in r]
    return max(mem) / 1024 if mem else None


def _legacy_record(metrics_json: str) -> Optional[dict]:
    """A wsss_eval-like record from an older test run: its metrics plus what its dumped test config says."""
    from mmengine.config import Config
    run_dir = osp.dirname(metrics_json)
    cfg_path = osp.join(run_dir, 'vis_data', 'config.py')
    if not osp.isfile(cfg_path):
        return None
    cfg = Config.fromfile(cfg_path)
    with open(metrics_json) as f:
        metrics = json.load(f)
    model = cfg.model
    tta = model.get('type') in ('WSSSTTAModel', 'SegTTAModel')
    inner = model.get('module', model) if tta else model
    evaluator = cfg.get('test_evaluator', {})
    return dict(config=cfg_path, checkpoint=cfg.get('load_from'), split=cfg.test_dataloader.dataset.get('ann_file'),
                output=(inner.get('test_cfg') or {}).get('output', 'seg'), tta=tta,
                merge=model.get('merge', 'mean' if model.get('type') == 'SegTTAModel' else None) if tta else None,
                crf=evaluator.get('post_processor'), metrics=metrics, images_per_s=None, device=None,
                source=metrics_json)


def eval_records(work_dir: str) -> List[dict]:
    """Every evaluation record under ``work_dir`` (any depth), oldest first; each has a ``source`` path."""
    found = []
    for path in glob.glob(osp.join(work_dir, '**', 'wsss_eval.json'), recursive=True):
        with open(path) as f:
            found.append((osp.getmtime(path), dict(json.load(f), source=path)))
    recorded_runs = {osp.dirname(r['source']) for _, r in found}
    for path in glob.glob(osp.join(work_dir, '**', '2*', '2*.json'), recursive=True):
        run_dir = osp.dirname(path)
        if run_dir in recorded_runs or osp.basename(path) != osp.basename(run_dir) + '.json':
            continue
        record = _legacy_record(path)
        if record is not None:
            found.append((osp.getmtime(path), record))
    return [r for _, r in sorted(found, key=lambda x: x[0])]


def split_name(record: dict) -> str:
    """``'ImageSets/Segmentation/train.txt'`` -> ``'train'``."""
    return osp.splitext(osp.basename(record.get('split') or ''))[0]


def newest(records: List[dict], output: str, split: str, tta: bool, crf: bool) -> Optional[dict]:
    """The newest record of one kind (what was predicted, on which split, with/without MS+flip, with/without CRF)."""
    match = [r for r in records if r.get('output') == output and split_name(r) == split
             and bool(r.get('tta')) == tta and bool(r.get('crf')) == crf]
    return match[-1] if match else None


def metric(record: Optional[dict], key: str = 'mIoU') -> Optional[float]:
    if record is None or key not in record['metrics']:
        return None
    return float(record['metrics'][key])


__all__ = ['training_config', 'training_records', 'seconds_per_iter', 'peak_memory_gb', 'eval_records',
           'split_name', 'newest', 'metric']
