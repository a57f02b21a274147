# The ToCo single-stage core on DeiT-B/16 (spec sections 1-2): WSSSViT + CAM classifiers + PAR pseudo labels +
# LargeFOV head + patch token contrast; the method configs add their class-token contrast module.
# Weights: mmpretrain's conversion of the official DeiT-B ImageNet-1k checkpoint (what ToCo/MCC load).
pretrained = ('https://download.openmmlab.com/mmclassification/v0/deit/'
              'deit-base_3rdparty_pt-16xb64_in1k_20211124-6f40c188.pth')
num_classes = 21
high_thr = 0.7
data_preprocessor = dict(
    type='WeakSegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],  # ImageNet mean/std, as the reference uses for every backbone
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(448, 448))
model = dict(
    type='WeakSegmentor',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='WSSSViT',
        arch='deit-base',
        img_size=224,
        patch_size=16,
        aux_layer=9,  # 0-based: the 10th of 12 blocks
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    decode_head=dict(
        type='LargeFOVHead',
        in_channels=768,
        in_index=1,  # the backbone returns (cls token, patch tokens, aux tokens)
        channels=512,
        dilation=5,
        num_classes=num_classes,
        align_corners=False,
        loss_decode=dict(type='BalancedSegCELoss', loss_weight=0.1)),
    cam_scales=(1.0, 0.5, 1.5),
    high_thr=high_thr,
    low_thr=0.25,
    pseudo_cam='final',
    par=dict(num_iter=10, dilations=(1, 2, 4, 8, 12, 24), w1=0.3, w2=0.01),
    seg_start_iter=2001,  # reference: segmentation (and rloss) for iterations n > 2000
    projector=dict(type='DINOProjectionHead', in_dims=768, hidden_dims=2048, bottleneck_dims=256, out_dims=1024),
    ema_momentum=0.9,
    aux_losses=[dict(type='PatchTokenContrast', loss_weight=0.2, high_thr=high_thr, low_thr=0.25)],
    # the reference's rloss (spec 2.5) on the segmentation softmax, active with the segmentation loss (ToCo/MCC VOC
    # n > 2000, COCO n > 8000, MSFC from 0): 0.05 x 1e-7 x energy, sigma_rgb 15, sigma_xy 100, at 0.5 scale, on
    # the permutohedral lattice of the reference extension (written in PyTorch, on the model's device)
    energy_loss=dict(type='DenseEnergyLoss', loss_weight=0.05, weight=1e-7, sigma_rgb=15.0, sigma_xy=100.0,
                     scale_factor=0.5),
    train_cfg=dict(),
    test_cfg=dict(mode='whole', output='seg', bkg_thr=0.5))
