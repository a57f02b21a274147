# Platform smoke test: a stock MMSeg FCN with a tiny ResNet-18 trained fully supervised on WeakShapes for 40
# iterations on CPU, through mmwsss's tools (train, resume, test, dist_train). No mmwsss model code involved.
_base_ = ['../_base_/datasets/weakshapes.py', '../_base_/schedules/schedule_20k.py']

norm_cfg = dict(type='BN', requires_grad=True)  # SyncBN needs CUDA; plain BN keeps the smoke CPU-only
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(96, 96))
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(type='ResNetV1c', depth=18, stem_channels=16, base_channels=8, num_stages=4,
                  out_indices=(3, ), dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1), norm_cfg=norm_cfg,
                  contract_dilation=True, style='pytorch'),
    decode_head=dict(type='FCNHead', in_channels=64, in_index=0, channels=32, num_convs=1, concat_input=False,
                     dropout_ratio=0.1, num_classes=6, norm_cfg=norm_cfg, align_corners=False,
                     loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

# Fully supervised: this stock model trains on the GT masks, so its training split lists and loads them.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(128, 128), ratio_range=(0.75, 1.5), keep_ratio=True),
    dict(type='RandomCrop', crop_size=(96, 96), cat_max_ratio=0.9),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
                 pipeline=train_pipeline))
val_dataloader = dict(num_workers=0, persistent_workers=False)
test_dataloader = val_dataloader

optim_wrapper = dict(optimizer=dict(lr=0.05))
param_scheduler = [dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=40, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=40, val_interval=20)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=20, max_keep_ckpts=2),
    visualization=dict(type='SegVisualizationHook'))
randomness = dict(seed=0)
tta_model = dict(_delete_=True, type='SegTTAModel')  # stock MMSeg test-time augmentation (mmwsss configs use WSSSTTAModel)
