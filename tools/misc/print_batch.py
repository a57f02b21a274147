# Print one training batch of a config after the data preprocessor: shapes, image-level labels, views, boxes.
#   python tools/misc/print_batch.py configs/_base_/datasets/weakshapes.py [--cfg-options ...]
# Dataset-only configs get a WeakSegDataPreProcessor with ImageNet mean/std; model configs use their own.
import argparse

import torch
from mmengine.config import DictAction
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

import mmwsss  # noqa: F401
from mmwsss.datasets.keys import VIEW_KEYS
from mmwsss.utils.launch import load_config

from mmseg.registry import MODELS

DEFAULT_PREPROCESSOR = dict(type='WeakSegDataPreProcessor', mean=[123.675, 116.28, 103.53],
                            std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_val=0, seg_pad_val=255)


def describe_batch(cfg, num_workers: int = 0) -> str:
    """Build the config's training dataloader and preprocessor and describe one batch as text."""
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    loader_cfg = cfg.train_dataloader.copy()
    loader_cfg.update(num_workers=num_workers, persistent_workers=False)
    loader = Runner.build_dataloader(loader_cfg, seed=0)
    preprocessor_cfg = cfg.get('model', {}).get('data_preprocessor') or dict(
        DEFAULT_PREPROCESSOR, size=tuple(cfg.crop_size))
    preprocessor = MODELS.build(preprocessor_cfg)
    batch = preprocessor(next(iter(loader)), training=True)
    classes = loader.dataset.metainfo['classes']
    lines = [f'dataset {type(loader.dataset).__name__}: {len(loader.dataset)} images, {len(classes)} classes',
             f'inputs {tuple(batch["inputs"].shape)} {batch["inputs"].dtype} '
             f'mean {batch["inputs"].mean():.3f} std {batch["inputs"].std():.3f}']
    for i, sample in enumerate(batch['data_samples']):
        labels = sample.get('gt_img_labels')
        names = [classes[j + 1] for j in torch.nonzero(labels).flatten().tolist()] if labels is not None else None
        views = {k: tuple(sample.get(k).shape) for k in VIEW_KEYS if k in sample}
        lines.append(f'[{i}] {sample.metainfo.get("stem")}: labels {names} '
                     f'vec {labels.int().tolist() if labels is not None else None}')
        lines.append(f'    img_box {sample.metainfo.get("img_box")} flip {sample.metainfo.get("flip")} '
                     f'views {views} view_meta {sample.metainfo.get("view_meta")}')
        lines.append(f'    gt_sem_seg {"present" if "gt_sem_seg" in sample else "absent (not read)"}')
    return '\n'.join(lines)


def main():
    parser = argparse.ArgumentParser(description='Print one training batch of a config')
    parser.add_argument('config')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args()
    print(describe_batch(load_config(args.config, cfg_options=args.cfg_options)))


if __name__ == '__main__':
    main()
