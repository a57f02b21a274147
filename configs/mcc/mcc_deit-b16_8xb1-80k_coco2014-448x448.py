# MCC on COCO 2014: 8 GPUs x 1 image (global batch 8), 80k iterations (docs/methods/mcc.md).
_base_ = ['../_base_/models/mcc_deit-b16.py', '../_base_/datasets/coco2014_weak.py',
          '../_base_/schedules/wsss_adamw_80k.py']
model = dict(
    thr=(0.25, 0.65),
    seg_start_iter=8001,  # classification + PTC + MCC only for n <= 8000
    pseudo_label=dict(cam=dict(source='aux', final_after=12000)),  # aux-CAM pseudo labels until 12k
    decode_head=dict(num_classes=81),
    aux_losses=dict(mcc=dict(cam=dict(final_after=None))),  # masked views labelled from the aux CAM throughout
    test_cfg=dict(bkg_thr=0.45))
train_dataloader = dict(batch_size=1)
# in-training validation on the first 5,000 val images, as the reference (final numbers: full val)
val_dataloader = dict(dataset=dict(ann_file='ImageSets/val_part.txt'))
