# DuPL on DeiT-B/16 (docs/methods/dupl.md): two complete students of the ToCo core (classification + PTC, no CTC,
# no energy loss), built from this one-student description by DualStudentSegmentor. Cross pseudo supervision
# (head k <- labels of the other student, balanced CE, weight 0.2), the discrepancy loss between the students' final
# tokens (0.1), the per-class dynamic threshold, the GMM noise filter and the strong-view consistency (0.05).
# Schedule of the released VOC recipe, in optimizer steps: segmentation for n > 2000, dynamic threshold decaying
# over [2000, 20000), GMM filtering from 8000, consistency for n > 8000.
_base_ = ['./wsss_deit-b16.py']
# final threshold per VOC class: 0.70 kept for aeroplane, bicycle, bird, boat, chair, train; 0.55 for the rest
voc_targets = [0.7, 0.7, 0.7, 0.7, 0.55, 0.55, 0.55, 0.55, 0.7, 0.55,
               0.55, 0.55, 0.55, 0.55, 0.55, 0.55, 0.55, 0.55, 0.7, 0.55]
model = dict(
    type='DualStudentSegmentor',
    num_students=2,
    energy_loss=None,
    decode_head=dict(loss_decode=dict(type='BalancedSegCELoss', loss_weight=0.2)),
    dynamic_threshold=dict(type='DynamicThreshold', initial=0.7, target=voc_targets, start=2000, length=18000),
    discrepancy=dict(type='DiscrepancyLoss', loss_weight=0.1, start_iter=0),
    noise_filter=dict(type='GMMNoiseFilter', start_iter=8000, min_pixels=1000, loss_floor=0.1, mean_gap=1.0,
                      posterior_thr=0.95),
    consistency=dict(type='StrongViewConsistencyLoss', loss_weight=0.05, conf_thr=0.9, scale=0.75, start_iter=8001),
    test_cfg=dict(student=0))
