# The ToCo core scaled down for WeakShapes on a CPU: a 6-block ViT (192 dims, 3 heads, 8 px patches) trained
# from scratch on 96 px crops (12x12 tokens), the LargeFOV head at dilation 2, a small projector, CAMs at
# scales 1.0 and 0.5 (+ flip).
num_classes = 6
high_thr = 0.7
data_preprocessor = dict(
    type='WeakSegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(96, 96))
model = dict(
    type='WeakSegmentor',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='WSSSViT',
        arch=dict(embed_dims=192, num_layers=6, num_heads=3, feedforward_channels=768),
        img_size=96,
        patch_size=8,
        aux_layer=4,  # the 5th of 6 blocks (9th of 12 in DeiT-B)
        frozen_pos_embed=False,  # trained from scratch: no pretrained positions to keep
        drop_path_rate=0.0),
    decode_head=dict(
        type='LargeFOVHead',
        in_channels=192,
        in_index=1,
        channels=128,
        dilation=2,
        num_classes=num_classes,
        align_corners=False,
        loss_decode=dict(type='BalancedSegCELoss', loss_weight=0.1)),
    cam_scales=(1.0, 0.5),  # CPU budget: the 1.5x pass costs as much as the other two together
    high_thr=high_thr,
    low_thr=0.25,
    pseudo_cam='final',
    par=dict(num_iter=10, dilations=(1, 2, 4, 8, 12, 24), w1=0.3, w2=0.01),
    seg_start_iter=300,  # 2000 of 20000 in the reference; later here, since CAMs start from scratch
    projector=dict(type='DINOProjectionHead', in_dims=192, hidden_dims=512, bottleneck_dims=128, out_dims=256),
    ema_momentum=0.9,
    aux_losses=[dict(type='PatchTokenContrast', loss_weight=0.2, high_thr=high_thr, low_thr=0.25)],
    train_cfg=dict(),
    test_cfg=dict(mode='whole', output='seg', bkg_thr=0.5))
