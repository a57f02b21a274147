# DuPL on COCO 2014: 8 GPUs x 1 image (global batch 8, as the released log), 80k iterations (docs/methods/dupl.md).
# Phases of the released COCO script, in optimizer steps: classification only for n <= 8000; segmentation for
# n > 8000 from the aux CAM with the fixed thresholds (0.25, 0.65) until 12000, then from the final CAM with the
# dynamic threshold (0.65 -> 0.55 for every class over [12000, 80000)); PTC for n > 12000; discrepancy 0.05 for
# n > 8000; GMM filtering and consistency from 32000.
_base_ = ['../_base_/models/dupl_deit-b16.py', '../_base_/datasets/coco2014_weak.py',
          '../_base_/schedules/wsss_adamw_80k.py']
model = dict(
    thr=(0.25, 0.65),
    seg_start_iter=8001,
    pseudo_label=dict(cam=dict(source='aux', final_after=12000)),
    decode_head=dict(num_classes=81),
    aux_losses=dict(ptc=dict(start_iter=12001)),
    dynamic_threshold=dict(initial=0.65, target=0.55, start=12000, length=68000),
    discrepancy=dict(loss_weight=0.05, start_iter=8001),
    noise_filter=dict(start_iter=32000),
    consistency=dict(start_iter=32000),
    test_cfg=dict(bkg_thr=0.45))
train_dataloader = dict(batch_size=1, dataset=dict(pipeline={{_base_.dupl_train_pipeline}}))
# in-training validation on the first 5,000 val images, as the reference (final numbers: full val)
val_dataloader = dict(dataset=dict(ann_file='ImageSets/val_part.txt'))
