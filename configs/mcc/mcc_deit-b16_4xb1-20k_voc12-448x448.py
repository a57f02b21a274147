# MCC on PASCAL VOC 2012 without SBD: trained on train (1,464 images), evaluated on val with SegmentationClass;
# otherwise the paper setting (4 GPUs x 1 image, 20k iterations; ../_base_/datasets/voc12_weak.py). Label file:
#   python tools/dataset_converters/voc_weak.py data/VOCdevkit/VOC2012 --no-sbd
_base_ = ['../_base_/models/mcc_deit-b16.py', '../_base_/datasets/voc12_weak.py',
          '../_base_/schedules/wsss_adamw_20k.py']
train_dataloader = dict(batch_size=1)
