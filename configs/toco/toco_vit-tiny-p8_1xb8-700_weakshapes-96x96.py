# ToCo on WeakShapes on a CPU: same model, data and schedule as the MCC WeakShapes config, local-crop contrast.
_base_ = [
    '../_base_/models/wsss_vit-tiny-p8_weakshapes.py', '../_base_/datasets/weakshapes.py',
    '../_base_/schedules/wsss_adamw_weakshapes.py'
]
model = dict(aux_losses=dict(
    # 24 px crops of the 96 px local view (96/448 of the crop side, as 96 px of 448 in the reference)
    ctc=dict(type='LocalCropContrast', num_crops=8, crop_size=24, neg_ratio=0.2, cam=dict(source='aux'),
             loss=dict(temperature=0.5, loss_weight=0.5), ema_momentum=0.9,
             projector=dict(type='DINOProjectionHead', in_dims=192, hidden_dims=512, bottleneck_dims=128,
                            out_dims=256))))
train_dataloader = dict(batch_size=8)
