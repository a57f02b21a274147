# ToCo COCO on one GPU with the paper's global batch of 8: 2 images x 4 accumulated steps.
# Every iteration count is x4 (MMEngine counts forward passes) and the teacher EMA is updated once per accumulation window; see
# toco_deit-b16_1xb2-acc2-20k_voc12aug-448x448.py.
_base_ = ['./toco_deit-b16_4xb2-80k_coco2014-448x448.py']
acc = 4
high_thr = 0.65
optim_wrapper = dict(accumulative_counts=acc)
model = dict(
    seg_start_iter=8001 * acc,
    aux_pseudo_until=12000 * acc,
    ema_interval=acc,
    aux_losses=[
        dict(type='PatchTokenContrast', loss_weight=0.2, high_thr=high_thr, low_thr=0.25, start_iter=12001 * acc),
        dict(type='LocalCropContrast', num_crops=8, crop_size=96, temperature=1.0, loss_weight=0.5,
             low_thr=0.25, high_thr=high_thr, neg_ratio=0.2, cam_source='aux', start_iter=12001 * acc),
    ])
train_cfg = dict(max_iters=80000 * acc, val_interval=4000 * acc)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0, end=1500 * acc),
    dict(type='PolyLR', power=0.9, eta_min=0.0, by_epoch=False, begin=0, end=80000 * acc),
]
default_hooks = dict(logger=dict(interval=200 * acc), checkpoint=dict(interval=4000 * acc))
