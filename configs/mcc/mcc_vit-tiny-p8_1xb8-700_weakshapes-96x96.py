# MCC on WeakShapes on a CPU (make demo): tiny ViT from scratch, 8 images per step, 700 iterations.
_base_ = [
    '../_base_/models/wsss_vit-tiny-p8_weakshapes.py', '../_base_/datasets/weakshapes.py',
    '../_base_/schedules/wsss_adamw_weakshapes.py'
]
model = dict(aux_losses=dict(
    # 12x12 tokens: 2x2-token blocks (6x6 block grid) instead of 4x4 on 28x28; aux CAM throughout, as MCC COCO
    mcc=dict(type='MaskedViewContrast', num_views=8, block=2, mask_prob=0.95, neg_ratio=0.2, cam=dict(source='aux'),
             loss=dict(temperature=0.5, loss_weight=0.5), ema_momentum=0.9,
             projector=dict(type='DINOProjectionHead', in_dims=192, hidden_dims=512, bottleneck_dims=128,
                            out_dims=256))))
train_dataloader = dict(batch_size=8)
