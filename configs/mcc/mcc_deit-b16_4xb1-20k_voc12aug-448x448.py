# MCC on PASCAL VOC 2012 + SBD: 4 GPUs x 1 image (global batch 4), 20k iterations (spec 3.2-3.4).
_base_ = [
    '../_base_/models/wsss_deit-b16.py', '../_base_/datasets/voc12aug_weak.py', '../_base_/default_runtime.py',
    '../_base_/schedules/wsss_adamw_20k.py'
]
model = dict(aux_losses=[
    dict(type='PatchTokenContrast', loss_weight=0.2, high_thr=0.7, low_thr=0.25),
    # 8 key-masked copies of the local view; labelled from the aux CAM, from the final CAM after 12k
    dict(type='MaskedViewContrast', num_views=8, block=4, mask_prob=0.95, temperature=0.5, loss_weight=0.5,
         low_thr=0.25, high_thr=0.7, neg_ratio=0.2, cam_source='aux', final_cam_after=12000),
])
train_dataloader = dict(batch_size=1)
