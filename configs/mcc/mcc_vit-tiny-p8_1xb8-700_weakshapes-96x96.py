# MCC on WeakShapes on a CPU (make demo): tiny ViT from scratch, 8 images per step, 700 iterations.
_base_ = [
    '../_base_/models/wsss_vit-tiny-p8_weakshapes.py', '../_base_/datasets/weakshapes.py',
    '../_base_/default_runtime.py', '../_base_/schedules/wsss_adamw_weakshapes.py'
]
model = dict(aux_losses=[
    dict(type='PatchTokenContrast', loss_weight=0.2, high_thr=0.7, low_thr=0.25),
    # 12x12 tokens: 2x2-token blocks (6x6 block grid) instead of 4x4 on 28x28
    dict(type='MaskedViewContrast', num_views=8, block=2, mask_prob=0.95, temperature=0.5, loss_weight=0.5,
         low_thr=0.25, high_thr=0.7, neg_ratio=0.2, cam_source='aux'),  # aux CAM throughout, as MCC COCO
])
train_dataloader = dict(batch_size=8)
