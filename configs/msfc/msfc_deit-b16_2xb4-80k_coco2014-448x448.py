# MSFC on COCO 2014, built as the method describes (configs/msfc/README.md): 2 GPUs x 4 images (global batch 8, the
# release's launcher and samples per GPU), 80k iterations, DeiT-B/16 (the release's COCO default).
_base_ = [
    '../_base_/models/wsss_deit-b16.py', '../_base_/datasets/coco2014_weak.py', '../_base_/default_runtime.py',
    '../_base_/schedules/wsss_adamw_80k.py'
]
num_classes = 81
high_thr = 0.65
bank_interval = 200  # the release never updates its COCO bank (its counter is never incremented); VOC's 200 here
model = dict(
    high_thr=high_thr,
    seg_start_iter=0,  # MSFC COCO uses every term from iteration 0 (ToCo COCO: 3 stages) ...
    pseudo_cam='final',
    aux_pseudo_until=12000,  # ... but keeps the switch from aux-CAM to final-CAM pseudo labels at 12k
    decode_head=dict(num_classes=num_classes),
    memory_bank=dict(bkg_thr=0.45, momentum=0.9, min_count=4),
    aux_losses=[
        dict(type='PatchTokenContrast', loss_weight=0.2, high_thr=high_thr, low_thr=0.25),
        # class-token contrast temperature 1.0 (hard-coded in the COCO script)
        dict(type='LocalCropContrast', num_crops=8, crop_size=96, temperature=1.0, loss_weight=0.5, low_thr=0.25,
             high_thr=high_thr, neg_ratio=0.2, cam_source='aux'),
        dict(type='SpatialMultiViewContrast', loss_weight=0.1, scale_factor=0.5),
        # COCO: no adaptive weight, 0.5 directly
        dict(type='MemoryPrototypeContrast', loss_weight=0.5, high_thr=high_thr, low_thr=0.25, adaptive=False,
             start_iter=bank_interval),
    ],
    test_cfg=dict(bkg_thr=0.45))
train_dataloader = dict(batch_size=4)
val_dataloader = dict(dataset=dict(ann_file='ImageSets/val_part.txt'))
custom_hooks = [dict(type='GlobalBatchInfoHook', expected=8), dict(type='MemoryBankHook', interval=bank_interval)]
