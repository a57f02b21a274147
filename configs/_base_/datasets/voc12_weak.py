# PASCAL VOC 2012 alone (no SBD) with image-level labels: train on the 1,464 images of train.txt, evaluate on val
# (1,449) against the SegmentationClass palette PNGs (read as class indices by LoadAnnotations' pillow backend).
# Only what differs from voc12aug_weak.py. Build the label file (train + val) with
#   python tools/dataset_converters/voc_weak.py data/VOCdevkit/VOC2012 --no-sbd [--label-source mask|xml]
_base_ = ['./voc12aug_weak.py']
train_dataloader = dict(dataset=dict(ann_file='ImageSets/Segmentation/train.txt'))
val_dataloader = dict(dataset=dict(data_prefix=dict(seg_map_path='SegmentationClass')))
test_dataloader = val_dataloader
