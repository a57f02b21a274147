# The dataloaders every weak-label dataset config shares. voc12aug_weak.py, coco2014_weak.py and weakshapes.py
# inherit them and fill in what differs: the dataset type, root, image/mask folders, split files and pipelines.
label_file = 'cls_labels_onehot.npy'  # ToCo format, accepted as is; rows are num_classes - 1 long (no background)
train_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    # InfiniteSampler order + a seed per drawn sample: augmentations and MCC/ToCo views independent of the
    # number of workers/processes and of --resume (mmwsss/datasets/seeded_sampler.py)
    sampler=dict(type='SeededInfiniteSampler', shuffle=True),
    # no seg_map_path in the training datasets: training never reads masks
    dataset=dict(label_source='file', label_file=label_file))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(label_source='file', label_file=label_file))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
