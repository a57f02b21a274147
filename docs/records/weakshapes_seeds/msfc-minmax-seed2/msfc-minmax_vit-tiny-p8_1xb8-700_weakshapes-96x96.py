crf = dict(
    bilateral_compat=4,
    bilateral_srgb=5,
    bilateral_sxy=121,
    gaussian_compat=1,
    gaussian_sxy=1,
    iterations=10,
    type='DenseCRF')
crop_size = (
    96,
    96,
)
custom_imports = dict(
    allow_failed_imports=False, imports=[
        'mmwsss',
    ])
data_preprocessor = dict(
    bgr_to_rgb=True,
    mean=[
        123.675,
        116.28,
        103.53,
    ],
    pad_val=0,
    seg_pad_val=255,
    size=(
        96,
        96,
    ),
    std=[
        58.395,
        57.12,
        57.375,
    ],
    type='WeakSegDataPreProcessor')
data_root = 'data/weakshapes'
dataset_type = 'WeakShapesDataset'
default_hooks = dict(
    checkpoint=dict(
        by_epoch=False, interval=350, max_keep_ckpts=2, type='CheckpointHook'),
    checkpoint_match=dict(type='CheckpointMatchHook'),
    dataset_model_check=dict(type='DatasetModelCheckHook'),
    eval_progress=dict(type='EvalProgressHook'),
    global_batch=dict(expected=8, type='GlobalBatchInfoHook'),
    logger=dict(interval=10, log_metric_by_epoch=False, type='LoggerHook'),
    memory_bank=dict(type='MemoryBankHook'),
    optimizer_step=dict(type='OptimizerStepInfoHook'),
    param_scheduler=dict(type='ParamSchedulerHook'),
    random_state=dict(type='RandomStateHook'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    timer=dict(type='IterTimerHook'),
    visualization=dict(type='SegVisualizationHook'))
default_scope = 'mmseg'
dupl_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(ratio_range=(
        0.6,
        1.2,
    ), type='RandomRescale'),
    dict(prob=0.5, type='RandomFlip'),
    dict(crop_size=(
        96,
        96,
    ), type='RandomCropWithBox'),
    dict(blur_prob=1.0, blur_radius=(
        0.1,
        0.5,
    ), type='WSSSPhotoMetricAug'),
    dict(magnitude=10, num_ops=5, total_level=30, type='AddStrongView'),
    dict(type='PackWeakSegInputs'),
]
env_cfg = dict(
    cudnn_benchmark=False,
    dist_cfg=dict(backend='nccl'),
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0))
find_unused_parameters = True
img_ratios = [
    1.0,
    1.25,
    1.5,
]
label_file = 'cls_labels_onehot.npy'
launcher = 'none'
load_from = None
log_level = 'INFO'
log_processor = dict(by_epoch=False)
max_iters = 700
model = dict(
    aux_losses=dict(
        ctc=dict(
            cam=dict(source='aux'),
            crop_size=24,
            ema_momentum=0.9,
            loss=dict(loss_weight=0.5, temperature=0.5),
            neg_ratio=0.2,
            num_crops=8,
            projector=dict(
                bottleneck_dims=128,
                hidden_dims=512,
                in_dims=192,
                out_dims=256,
                type='DINOProjectionHead'),
            type='LocalCropContrast'),
        mp2m=dict(
            adaptive=True,
            bank=dict(bkg_thr=0.5, min_count=4, momentum=0.9),
            loss=dict(loss_weight=0.5),
            type='MemoryPrototypeContrast',
            update_interval=50),
        ptc=dict(
            cam=dict(source='aux'),
            loss=dict(loss_weight=0.2),
            type='PatchTokenContrast'),
        smcm=dict(
            cam=dict(source='final'),
            loss_weight=0.1,
            scale_factor=0.5,
            type='SpatialMultiViewContrast',
            view_norm='min_max')),
    backbone=dict(
        arch=dict(
            embed_dims=192,
            feedforward_channels=768,
            num_heads=3,
            num_layers=6),
        aux_layer=4,
        drop_path_rate=0.0,
        frozen_pos_embed=False,
        img_size=96,
        patch_size=8,
        type='WSSSViT'),
    cam_head=dict(scales=(
        1.0,
        0.5,
    )),
    data_preprocessor=dict(
        bgr_to_rgb=True,
        mean=[
            123.675,
            116.28,
            103.53,
        ],
        pad_val=0,
        seg_pad_val=255,
        size=(
            96,
            96,
        ),
        std=[
            58.395,
            57.12,
            57.375,
        ],
        type='WeakSegDataPreProcessor'),
    decode_head=dict(
        align_corners=False,
        channels=128,
        dilation=2,
        in_channels=192,
        in_index=1,
        loss_decode=dict(loss_weight=0.1, type='BalancedSegCELoss'),
        num_classes=6,
        type='LargeFOVHead'),
    pseudo_label=dict(
        cam=dict(source='final'),
        par=dict(
            dilations=(
                1,
                2,
                4,
                8,
                12,
                24,
            ), num_iter=10, w1=0.3, w2=0.01),
        par_scale=0.5),
    seg_start_iter=300,
    test_cfg=dict(bkg_thr=0.5, mode='whole', output='seg'),
    thr=(
        0.25,
        0.7,
    ),
    train_cfg=dict(),
    type='WeakSegmentor')
optim_wrapper = dict(
    clip_grad=dict(max_norm=5.0),
    constructor='FiniteGradOptimWrapperConstructor',
    optimizer=dict(
        betas=(
            0.9,
            0.999,
        ),
        eps=1e-08,
        lr=0.0005,
        type='AdamW',
        weight_decay=0.01),
    type='OptimWrapper')
param_scheduler = [
    dict(
        begin=0, by_epoch=False, end=100, start_factor=0.001, type='LinearLR'),
    dict(
        begin=0,
        by_epoch=False,
        end=700,
        eta_min=0.0,
        power=0.9,
        type='PolyLR'),
]
randomness = dict(seed=2)
resume = False
runner_type = 'WSSSRunner'
test_cfg = dict(type='TestLoop')
test_dataloader = dict(
    batch_size=1,
    dataset=dict(
        ann_file='ImageSets/Segmentation/val.txt',
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClass'),
        data_root='data/weakshapes',
        label_file='cls_labels_onehot.npy',
        label_source='file',
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations'),
            dict(type='PackWeakSegInputs'),
        ],
        type='WeakShapesDataset'),
    num_workers=2,
    persistent_workers=True,
    sampler=dict(shuffle=False, type='DefaultSampler'))
test_evaluator = dict(
    iou_metrics=[
        'mIoU',
    ], type='IoUMetric')
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackWeakSegInputs'),
]
train_cfg = dict(
    max_iters=700, type='FastForwardIterBasedTrainLoop', val_interval=700)
train_dataloader = dict(
    batch_size=8,
    dataset=dict(
        ann_file='ImageSets/Segmentation/train.txt',
        data_prefix=dict(img_path='JPEGImages'),
        data_root='data/weakshapes',
        label_file='cls_labels_onehot.npy',
        label_source='file',
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(
                aug=dict(blur_prob=0.1, solarize_prob=0.2),
                scale=(
                    0.4,
                    1.0,
                ),
                size=96,
                type='AddGlobalView'),
            dict(ratio_range=(
                0.6,
                1.2,
            ), type='RandomRescale'),
            dict(prob=0.5, type='RandomFlip'),
            dict(crop_size=(
                96,
                96,
            ), type='RandomCropWithBox'),
            dict(aug=dict(blur_prob=0.5), type='AddLocalView'),
            dict(
                blur_prob=1.0,
                blur_radius=(
                    0.1,
                    0.5,
                ),
                type='WSSSPhotoMetricAug'),
            dict(type='PackWeakSegInputs'),
        ],
        type='WeakShapesDataset'),
    num_workers=2,
    persistent_workers=True,
    sampler=dict(shuffle=True, type='SeededInfiniteSampler'))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        aug=dict(blur_prob=0.1, solarize_prob=0.2),
        scale=(
            0.4,
            1.0,
        ),
        size=96,
        type='AddGlobalView'),
    dict(ratio_range=(
        0.6,
        1.2,
    ), type='RandomRescale'),
    dict(prob=0.5, type='RandomFlip'),
    dict(crop_size=(
        96,
        96,
    ), type='RandomCropWithBox'),
    dict(aug=dict(blur_prob=0.5), type='AddLocalView'),
    dict(blur_prob=1.0, blur_radius=(
        0.1,
        0.5,
    ), type='WSSSPhotoMetricAug'),
    dict(type='PackWeakSegInputs'),
]
tta_model = dict(merge='max', type='WSSSTTAModel')
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        transforms=[
            [
                dict(keep_ratio=True, scale_factor=1.0, type='Resize'),
                dict(keep_ratio=True, scale_factor=1.25, type='Resize'),
                dict(keep_ratio=True, scale_factor=1.5, type='Resize'),
            ],
            [
                dict(direction='horizontal', prob=0.0, type='RandomFlip'),
                dict(direction='horizontal', prob=1.0, type='RandomFlip'),
            ],
            [
                dict(type='LoadAnnotations'),
            ],
            [
                dict(type='PackSegInputs'),
            ],
        ],
        type='TestTimeAug'),
]
val_cfg = dict(type='ValLoop')
val_dataloader = dict(
    batch_size=1,
    dataset=dict(
        ann_file='ImageSets/Segmentation/val.txt',
        data_prefix=dict(
            img_path='JPEGImages', seg_map_path='SegmentationClass'),
        data_root='data/weakshapes',
        label_file='cls_labels_onehot.npy',
        label_source='file',
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations'),
            dict(type='PackWeakSegInputs'),
        ],
        type='WeakShapesDataset'),
    num_workers=2,
    persistent_workers=True,
    sampler=dict(shuffle=False, type='DefaultSampler'))
val_evaluator = dict(
    iou_metrics=[
        'mIoU',
    ], type='IoUMetric')
vis_backends = [
    dict(type='LocalVisBackend'),
]
visualizer = dict(
    name='visualizer',
    type='SegLocalVisualizer',
    vis_backends=[
        dict(type='LocalVisBackend'),
    ])
work_dir = 'work_dirs/seeds/msfc-minmax-seed2'
