# ToCo on PASCAL VOC 2012 + SBD: 2 GPUs x 2 images (global batch 4), 20k iterations (docs/methods/toco.md).
_base_ = ['../_base_/models/toco_deit-b16.py', '../_base_/datasets/voc12aug_weak.py',
          '../_base_/schedules/wsss_adamw_20k.py']
train_dataloader = dict(batch_size=2)
