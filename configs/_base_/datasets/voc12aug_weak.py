# PASCAL VOC 2012 + SBD with image-level labels. Build the lists and labels with
#   python tools/dataset_converters/voc_weak.py data/VOCdevkit/VOC2012 --aug-dir SegmentationClassAug
_base_ = ['./wsss_pipelines_448.py']
dataset_type = 'WeakVOCDataset'
data_root = 'data/VOCdevkit/VOC2012'
label_file = 'cls_labels_onehot.npy'  # ToCo format, accepted as is

train_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    # InfiniteSampler order + a seed per drawn sample: augmentations and MCC/ToCo views independent of the
    # number of workers/processes and of --resume (mmwsss/datasets/seeded_sampler.py)
    sampler=dict(type='SeededInfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='JPEGImages'),  # no seg_map_path: training never reads masks
        ann_file='ImageSets/Segmentation/train_aug.txt',
        label_source='file',
        label_file=label_file,
        pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
        ann_file='ImageSets/Segmentation/val.txt',
        label_source='file',
        label_file=label_file,
        pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
