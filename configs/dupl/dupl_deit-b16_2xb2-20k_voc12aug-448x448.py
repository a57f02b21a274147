# DuPL on PASCAL VOC 2012 + SBD: 2 GPUs x 2 images (global batch 4, as the released logs), 20k iterations
# (docs/methods/dupl.md). The global batch matters: users of the released code report about 7 points lower mIoU at
# a global batch of 1; on one GPU use the -acc2 variant.
_base_ = ['../_base_/models/dupl_deit-b16.py', '../_base_/datasets/voc12aug_weak.py',
          '../_base_/schedules/wsss_adamw_20k.py']
train_dataloader = dict(batch_size=2, dataset=dict(pipeline={{_base_.dupl_train_pipeline}}))
