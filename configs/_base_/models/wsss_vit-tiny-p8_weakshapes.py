# The ToCo core scaled down for WeakShapes on a CPU: a 6-block ViT (192 dims, 3 heads, 8 px patches) trained
# from scratch on 96 px crops (12x12 tokens), the LargeFOV head at dilation 2, CAMs at scales 1.0 and 0.5 (+ flip).
# The method configs add their terms with the small projector (192 -> 512 -> 128 -> 256).
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
        num_classes=6,
        align_corners=False,
        loss_decode=dict(type='BalancedSegCELoss', loss_weight=0.1)),
    cam_head=dict(scales=(1.0, 0.5)),  # CPU budget: the 1.5x pass costs as much as the other two together
    thr=(0.25, 0.7),
    pseudo_label=dict(cam=dict(source='final'), par=dict(num_iter=10, dilations=(1, 2, 4, 8, 12, 24), w1=0.3, w2=0.01),
                      par_scale=0.5),
    seg_start_iter=300,  # 2000 of 20000 in the reference; later here, since CAMs start from scratch
    aux_losses=dict(ptc=dict(type='PatchTokenContrast', loss=dict(loss_weight=0.2), cam=dict(source='aux'))),
    train_cfg=dict(),
    test_cfg=dict(mode='whole', output='seg', bkg_thr=0.5))
