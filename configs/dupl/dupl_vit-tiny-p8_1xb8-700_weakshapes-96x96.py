# DuPL on WeakShapes on a CPU: the ToCo/MCC WeakShapes model and schedule as two students, 8 images per step, 700
# iterations. The VOC schedule scaled to the WeakShapes one (segmentation from 300 as the other methods): dynamic
# threshold over [300, 700), GMM filtering from 450, consistency from 451; the GMM's minimum pixel count scaled
# to the 96 px crop (1000 x (96 / 448)^2 = 46).
_base_ = [
    '../_base_/models/wsss_vit-tiny-p8_weakshapes.py', '../_base_/datasets/weakshapes.py',
    '../_base_/schedules/wsss_adamw_weakshapes.py'
]
model = dict(
    type='DualStudentSegmentor',
    num_students=2,
    decode_head=dict(loss_decode=dict(type='BalancedSegCELoss', loss_weight=0.2)),
    dynamic_threshold=dict(type='DynamicThreshold', initial=0.7, target=0.55, start=300, length=400),
    discrepancy=dict(type='DiscrepancyLoss', loss_weight=0.1, start_iter=0),
    noise_filter=dict(type='GMMNoiseFilter', start_iter=450, min_pixels=46, loss_floor=0.1, mean_gap=1.0,
                      posterior_thr=0.95),
    consistency=dict(type='StrongViewConsistencyLoss', loss_weight=0.05, conf_thr=0.9, scale=0.75, start_iter=451),
    test_cfg=dict(student=0))
train_dataloader = dict(batch_size=8, dataset=dict(pipeline={{_base_.dupl_train_pipeline}}))
