# PASCAL VOC 2012 + SBD with image-level labels. Build the lists and labels with
#   python tools/dataset_converters/voc_weak.py data/VOCdevkit/VOC2012 --aug-dir SegmentationClassAug
_base_ = ['./wsss_pipelines_448.py', './weak_loaders.py']
dataset_type = 'WeakVOCDataset'
data_root = 'data/VOCdevkit/VOC2012'

train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='JPEGImages'),
        ann_file='ImageSets/Segmentation/train_aug.txt',
        pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
        ann_file='ImageSets/Segmentation/val.txt',
        pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
