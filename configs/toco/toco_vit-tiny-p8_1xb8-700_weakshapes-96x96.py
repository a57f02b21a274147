# ToCo on WeakShapes on a CPU: same model, data and schedule as the MCC WeakShapes config, local-crop contrast.
_base_ = [
    '../_base_/models/wsss_vit-tiny-p8_weakshapes.py', '../_base_/datasets/weakshapes.py',
    '../_base_/default_runtime.py', '../_base_/schedules/wsss_adamw_weakshapes.py'
]
model = dict(aux_losses=[
    dict(type='PatchTokenContrast', loss_weight=0.2, high_thr=0.7, low_thr=0.25),
    # 24 px crops of the 96 px local view (96/448 of the crop side, as 96 px of 448 in the reference)
    dict(type='LocalCropContrast', num_crops=8, crop_size=24, temperature=0.5, loss_weight=0.5, low_thr=0.25,
         high_thr=0.7, neg_ratio=0.2, cam_source='aux'),
])
train_dataloader = dict(batch_size=8)
