# COCO 2014 with image-level labels, 81 classes. Build masks, lists and labels with
#   python tools/dataset_converters/coco_weak.py data/coco2014
_base_ = ['./wsss_pipelines_448.py']
dataset_type = 'WeakCOCODataset'
data_root = 'data/coco2014'
label_file = 'cls_labels_onehot.npy'

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
        data_prefix=dict(img_path='train2014'),  # no seg_map_path: training never reads masks
        ann_file='ImageSets/train.txt',
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
        data_prefix=dict(img_path='val2014', seg_map_path='SegmentationClass/val2014'),
        ann_file='ImageSets/val.txt',  # ImageSets/val_part.txt (first 5,000) for quick in-training checks
        label_source='file',
        label_file=label_file,
        pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
