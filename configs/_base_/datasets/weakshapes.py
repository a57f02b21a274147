# WeakShapes (synthetic; mmwsss/datasets/weakshapes.py), 5 shape classes + background, 128 px images, with
# image-level labels. Generate: python tools/dataset_converters/make_weakshapes.py data/weakshapes
# The views of the 448 px recipes scaled to a 96 px crop; training reads images and labels only.
_base_ = ['./weak_loaders.py']
dataset_type = 'WeakShapesDataset'
data_root = 'data/weakshapes'
crop_size = (96, 96)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='AddGlobalView', size=96, scale=(0.4, 1.0), aug=dict(blur_prob=0.1, solarize_prob=0.2)),
    # 0.6-1.2 instead of 0.5-2.0: a 96 px crop of a 2x-enlarged 128 px image often loses the labelled objects
    dict(type='RandomRescale', ratio_range=(0.6, 1.2)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomCropWithBox', crop_size=crop_size),
    dict(type='AddLocalView', aug=dict(blur_prob=0.5)),
    dict(type='WSSSPhotoMetricAug', blur_prob=1.0, blur_radius=(0.1, 0.5)),
    dict(type='PackWeakSegInputs'),
]
# DuPL's training views: the crop and its strong view (RandAugment, always flipped); no global/local views.
dupl_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomRescale', ratio_range=(0.6, 1.2)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomCropWithBox', crop_size=crop_size),
    dict(type='WSSSPhotoMetricAug', blur_prob=1.0, blur_radius=(0.1, 0.5)),
    dict(type='AddStrongView', num_ops=5, magnitude=10, total_level=30),
    dict(type='PackWeakSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackWeakSegInputs'),
]
img_ratios = [1.0, 1.25, 1.5]
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='TestTimeAug',
         transforms=[[dict(type='Resize', scale_factor=r, keep_ratio=True) for r in img_ratios],
                     [dict(type='RandomFlip', prob=0., direction='horizontal'),
                      dict(type='RandomFlip', prob=1., direction='horizontal')],
                     [dict(type='LoadAnnotations')], [dict(type='PackSegInputs')]])
]
train_dataloader = dict(
    batch_size=4,
    num_workers=2,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='JPEGImages'),
        ann_file='ImageSets/Segmentation/train.txt',
        pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=2,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
        ann_file='ImageSets/Segmentation/val.txt',
        pipeline=test_pipeline))
test_dataloader = val_dataloader
