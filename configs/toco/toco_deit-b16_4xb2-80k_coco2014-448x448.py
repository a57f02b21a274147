# ToCo on COCO 2014: 4 GPUs x 2 images (global batch 8), 80k iterations (docs/methods/toco.md).
_base_ = ['../_base_/models/toco_deit-b16.py', '../_base_/datasets/coco2014_weak.py',
          '../_base_/schedules/wsss_adamw_80k.py']
model = dict(
    thr=(0.25, 0.65),
    seg_start_iter=8001,  # classification only for n <= 8000
    pseudo_label=dict(cam=dict(source='aux', final_after=12000)),  # aux-CAM pseudo labels until 12k
    decode_head=dict(num_classes=81),
    # PTC and CTC join for n > 12000; CTC temperature 1.0 (hard-coded in the reference COCO script)
    aux_losses=dict(ptc=dict(start_iter=12001), ctc=dict(start_iter=12001, loss=dict(temperature=1.0))),
    test_cfg=dict(bkg_thr=0.45))
train_dataloader = dict(batch_size=2)
# in-training validation on the first 5,000 val images, as the reference (final numbers: full val)
val_dataloader = dict(dataset=dict(ann_file='ImageSets/val_part.txt'))
