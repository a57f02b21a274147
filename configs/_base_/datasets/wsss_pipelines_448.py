# The ToCo/MCC/MSFC training views at 448 px (docs/methods/toco.md), shared by the VOC and COCO dataset configs.
# Training reads images and image-level labels only: no LoadAnnotations, so GT masks are never read.
crop_size = (448, 448)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='AddGlobalView', size=448, scale=(0.4, 1.0), aug=dict(blur_prob=0.1, solarize_prob=0.2)),
    dict(type='RandomRescale', ratio_range=(0.5, 2.0)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomCropWithBox', crop_size=crop_size),
    dict(type='AddLocalView', aug=dict(blur_prob=0.5)),
    dict(type='WSSSPhotoMetricAug', blur_prob=1.0),
    dict(type='PackWeakSegInputs'),
]
# DuPL's training views: the crop and its strong view (RandAugment, always flipped); no global/local views.
dupl_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomRescale', ratio_range=(0.5, 2.0)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomCropWithBox', crop_size=crop_size),
    dict(type='WSSSPhotoMetricAug', blur_prob=1.0),
    dict(type='AddStrongView', num_ops=5, magnitude=10, total_level=30),
    dict(type='PackWeakSegInputs'),
]
# Validation/test at the original resolution, with GT for mIoU.
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackWeakSegInputs'),
]
# Splits without GT (VOC test): prediction export only.
test_pipeline_no_gt = [
    dict(type='LoadImageFromFile'),
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
