# MSFC on PASCAL VOC 2012 + SBD, built as the method describes (configs/msfc/README.md lists every deviation from
# the released code): 2 GPUs x 2 images (global batch 4, ToCo's; the release launches 2 GPUs x 2 but its memory
# branch only works with 1 image per process), 20k iterations, DeiT-B/16 (the release's COCO default; its VOC
# default is timm's ViT-B/16).
_base_ = [
    '../_base_/models/wsss_deit-b16.py', '../_base_/datasets/voc12aug_weak.py', '../_base_/default_runtime.py',
    '../_base_/schedules/wsss_adamw_20k.py'
]
high_thr = 0.7
bank_interval = 200  # spec 4.3: the bank is updated every 200 iterations
model = dict(
    seg_start_iter=0,  # MSFC drops ToCo's 2k-iteration segmentation warm-up: every term from iteration 0
    # MP2M bank: per-class means of the final tokens over confident multi-scale-CAM regions (> 0.5), at least 4
    # (image, class) samples per update, real EMA momentum 0.9 (first commit; HEAD's 0.1 keeps 10 % history)
    memory_bank=dict(bkg_thr=0.5, momentum=0.9, min_count=4),
    aux_losses=[
        # TFCM = ToCo's PTC + class-token contrast of 8 local 96 px crops against the 2 global views
        dict(type='PatchTokenContrast', loss_weight=0.2, high_thr=high_thr, low_thr=0.25),
        dict(type='LocalCropContrast', num_crops=8, crop_size=96, temperature=0.5, loss_weight=0.5, low_thr=0.25,
             high_thr=high_thr, neg_ratio=0.2, cam_source='aux'),
        # SMCM: 180-degree rotation, half-size copy and the 4 quadrants, CAMs with gradient, L1 over 6 pairs
        dict(type='SpatialMultiViewContrast', loss_weight=0.1, scale_factor=0.5),
        # MP2M: PTC-form loss with memory-CAM pair targets x the bounded adaptive weight (VOC), 0.5; off until the
        # first bank update (the bank warms up from this run, no files from a preliminary run)
        dict(type='MemoryPrototypeContrast', loss_weight=0.5, high_thr=high_thr, low_thr=0.25, adaptive=True,
             start_iter=bank_interval),
    ])
train_dataloader = dict(batch_size=2)
# checkpoint interval (2000) is a multiple of the bank interval, so a checkpoint always holds a just-updated bank
custom_hooks = [dict(type='GlobalBatchInfoHook', expected=4), dict(type='MemoryBankHook', interval=bank_interval)]
