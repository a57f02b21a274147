# MCC on PASCAL VOC 2012 + SBD: 4 GPUs x 1 image (global batch 4), 20k iterations (docs/methods/mcc.md).
_base_ = ['../_base_/models/mcc_deit-b16.py', '../_base_/datasets/voc12aug_weak.py',
          '../_base_/schedules/wsss_adamw_20k.py']
train_dataloader = dict(batch_size=1)
