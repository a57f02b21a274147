# The classic second stage of WSSS: a stock MMSeg DeepLabV3+ (ResNet-18, output stride 8, from scratch) trained
# fully supervised on pseudo labels exported from a single-stage checkpoint, validated on WeakShapes val's real GT.
# No mmwsss model or dataset code: EncoderDecoder + DepthwiseSeparableASPPHead + BaseSegDataset. The runtime comes
# from mmwsss's base (the fast-forwarding loop and the reliability hooks of configs/_base_/default_runtime.py, which
# need the mmwsss import; the weak-supervision hooks do nothing for this model).
#
#   python tools/export_pseudo_labels.py configs/mcc/mcc_vit-tiny-p8_1xb8-700_weakshapes-96x96.py \
#       work_dirs/demo/mcc/iter_700.pth --out data/weakshapes/pseudo_mcc --split train --eval
#   python tools/train.py configs/second_stage/deeplabv3plus_r18-d8_1xb8-3k_weakshapes-pseudo-96x96.py \
#       --cfg-options pseudo_label_dir=pseudo_mcc     # (a folder under data_root; default pseudo_mcc)
#
# Pseudo-label pixels of 255 (the ignore band) are ignored by the loss, as MMSeg ignores VOC's void pixels.
_base_ = ['../_base_/schedules/schedule_20k.py']

data_root = 'data/weakshapes'
pseudo_label_dir = 'pseudo_mcc'  # tools/export_pseudo_labels.py --out <data_root>/<this>
crop_size = (96, 96)
metainfo = dict(classes=('background', 'disc', 'square', 'triangle', 'cross', 'ring'),
                palette=[[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0], [0, 0, 128], [128, 0, 128]])
norm_cfg = dict(type='BN', requires_grad=True)  # SyncBN needs CUDA + DDP
data_preprocessor = dict(type='SegDataPreProcessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                         bgr_to_rgb=True, pad_val=0, seg_pad_val=255, size=crop_size)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(type='ResNetV1c', depth=18, num_stages=4, out_indices=(0, 1, 2, 3), dilations=(1, 1, 2, 4),
                  strides=(1, 2, 1, 1), norm_cfg=norm_cfg, norm_eval=False, style='pytorch', contract_dilation=True),
    decode_head=dict(
        type='DepthwiseSeparableASPPHead', in_channels=512, in_index=3, channels=128,
        dilations=(1, 3, 6, 9),  # MMSeg's (1, 12, 24, 36) are for 64x64 feature maps; these 12x12 ones are ~5x smaller
        c1_in_channels=64, c1_channels=48, dropout_ratio=0.1, num_classes=6, norm_cfg=norm_cfg, align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(
        type='FCNHead', in_channels=256, in_index=2, channels=64, num_convs=1, concat_input=False,
        dropout_ratio=0.1, num_classes=6, norm_cfg=norm_cfg, align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(128, 128), ratio_range=(0.75, 1.5), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.9),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'), dict(type='PackSegInputs')]
train_dataloader = dict(
    batch_size=8, num_workers=2, persistent_workers=True, sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type='BaseSegDataset', data_root=data_root, metainfo=metainfo, img_suffix='.jpg',
                 seg_map_suffix='.png', ann_file='ImageSets/Segmentation/train.txt',
                 data_prefix=dict(img_path='JPEGImages', seg_map_path=pseudo_label_dir), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True, sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='BaseSegDataset', data_root=data_root, metainfo=metainfo, img_suffix='.jpg',
                 seg_map_suffix='.png', ann_file='ImageSets/Segmentation/val.txt',
                 data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'), pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

# MMSeg's 20k SGD schedule, shortened to 3k iterations at lr 0.02 for the CPU
optim_wrapper = dict(optimizer=dict(lr=0.02))
param_scheduler = [dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=3000, by_epoch=False)]
train_cfg = dict(max_iters=3000, val_interval=1000)
default_hooks = dict(checkpoint=dict(interval=1000, max_keep_ckpts=2))
randomness = dict(seed=0)
