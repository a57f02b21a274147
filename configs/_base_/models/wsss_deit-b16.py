# The ToCo single-stage core on DeiT-B/16 (docs/methods/toco.md): WSSSViT + CAM head + PAR pseudo labels + LargeFOV
# head + patch token contrast (PTC); the method bases (toco_/mcc_/msfc_deit-b16.py) add their terms to aux_losses.
# Weights: mmpretrain's conversion of the official DeiT-B ImageNet-1k checkpoint (what ToCo/MCC load).
pretrained = ('https://download.openmmlab.com/mmclassification/v0/deit/'
              'deit-base_3rdparty_pt-16xb64_in1k_20211124-6f40c188.pth')
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
        num_classes=21,
        align_corners=False,
        loss_decode=dict(type='BalancedSegCELoss', loss_weight=0.1)),
    cam_head=dict(scales=(1.0, 0.5, 1.5)),
    thr=(0.25, 0.7),  # (low, high) CAM thresholds of the pseudo labels and of every aux module (COCO: high 0.65)
    pseudo_label=dict(cam=dict(source='final'), par=dict(num_iter=10, dilations=(1, 2, 4, 8, 12, 24), w1=0.3, w2=0.01),
                      par_scale=0.5),
    seg_start_iter=2001,  # optimizer steps; reference: segmentation (and rloss) for iterations n > 2000
    # paper terms, keyed by name: a variant changes one entry (aux_losses=dict(ptc=dict(start_iter=...))) or drops
    # one (aux_losses=dict(ptc=None))
    aux_losses=dict(ptc=dict(type='PatchTokenContrast', loss=dict(loss_weight=0.2), cam=dict(source='aux'))),
    # the reference's rloss on the segmentation softmax, active with the segmentation loss (ToCo/MCC VOC
    # n > 2000, COCO n > 8000, MSFC from 0): 0.05 x 1e-7 x energy, sigma_rgb 15, sigma_xy 100, at 0.5 scale, on
    # the permutohedral lattice of the reference extension (written in PyTorch, on the model's device)
    energy_loss=dict(type='DenseEnergyLoss', loss_weight=0.05, weight=1e-7, sigma_rgb=15.0, sigma_xy=100.0,
                     scale_factor=0.5),
    train_cfg=dict(),
    test_cfg=dict(mode='whole', output='seg', bkg_thr=0.5))
