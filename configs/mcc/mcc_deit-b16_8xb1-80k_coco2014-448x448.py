# MCC on COCO 2014: 8 GPUs x 1 image (global batch 8), 80k iterations (spec 3.2-3.4).
_base_ = [
    '../_base_/models/wsss_deit-b16.py', '../_base_/datasets/coco2014_weak.py', '../_base_/default_runtime.py',
    '../_base_/schedules/wsss_adamw_80k.py'
]
num_classes = 81
high_thr = 0.65
model = dict(
    high_thr=high_thr,
    seg_start_iter=8001,  # classification + PTC + MCC only for n <= 8000
    pseudo_cam='final',
    aux_pseudo_until=12000,  # pseudo labels from the aux CAM until 12k, then the final CAM
    decode_head=dict(num_classes=num_classes),
    aux_losses=[
        dict(type='PatchTokenContrast', loss_weight=0.2, high_thr=high_thr, low_thr=0.25),
        dict(type='MaskedViewContrast', num_views=8, block=4, mask_prob=0.95, temperature=0.5, loss_weight=0.5,
             low_thr=0.25, high_thr=high_thr, neg_ratio=0.2, cam_source='aux'),
    ],
    test_cfg=dict(bkg_thr=0.45))
train_dataloader = dict(batch_size=1)
# in-training validation on the first 5,000 val images, as the reference (final numbers: full val)
val_dataloader = dict(dataset=dict(ann_file='ImageSets/val_part.txt'))
