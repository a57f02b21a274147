# ToCo on COCO 2014: 4 GPUs x 2 images (global batch 8), 80k iterations (spec 3.2-3.4).
_base_ = [
    '../_base_/models/wsss_deit-b16.py', '../_base_/datasets/coco2014_weak.py', '../_base_/default_runtime.py',
    '../_base_/schedules/wsss_adamw_80k.py'
]
num_classes = 81
high_thr = 0.65
model = dict(
    high_thr=high_thr,
    seg_start_iter=8001,  # classification only for n <= 8000
    pseudo_cam='final',
    aux_pseudo_until=12000,
    decode_head=dict(num_classes=num_classes),
    aux_losses=[
        # PTC and CTC join for n > 12000; CTC temperature 1.0 (hard-coded in the reference COCO script)
        dict(type='PatchTokenContrast', loss_weight=0.2, high_thr=high_thr, low_thr=0.25, start_iter=12001),
        dict(type='LocalCropContrast', num_crops=8, crop_size=96, temperature=1.0, loss_weight=0.5,
             low_thr=0.25, high_thr=high_thr, neg_ratio=0.2, cam_source='aux', start_iter=12001),
    ],
    test_cfg=dict(bkg_thr=0.45))
train_dataloader = dict(batch_size=2)
val_dataloader = dict(dataset=dict(ann_file='ImageSets/val_part.txt'))
