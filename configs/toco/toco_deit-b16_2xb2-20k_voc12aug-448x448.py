# ToCo on PASCAL VOC 2012 + SBD: 2 GPUs x 2 images (global batch 4), 20k iterations (spec 3.2-3.4).
_base_ = [
    '../_base_/models/wsss_deit-b16.py', '../_base_/datasets/voc12aug_weak.py', '../_base_/default_runtime.py',
    '../_base_/schedules/wsss_adamw_20k.py'
]
model = dict(aux_losses=[
    dict(type='PatchTokenContrast', loss_weight=0.2, high_thr=0.7, low_thr=0.25),
    # 8 local 96 px crops of the local view, centred off confident foreground, labelled from the aux CAM
    dict(type='LocalCropContrast', num_crops=8, crop_size=96, temperature=0.5, loss_weight=0.5, low_thr=0.25,
         high_thr=0.7, neg_ratio=0.2, cam_source='aux'),
])
train_dataloader = dict(batch_size=2)
