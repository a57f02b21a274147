# MSFC on COCO 2014, built as the method describes (docs/methods/msfc.md): 2 GPUs x 4 images (global batch 8, the
# release's launcher and samples per GPU), 80k iterations, DeiT-B/16 (the release's COCO default).
_base_ = ['../_base_/models/msfc_deit-b16.py', '../_base_/datasets/coco2014_weak.py',
          '../_base_/schedules/wsss_adamw_80k.py']
model = dict(
    thr=(0.25, 0.65),
    # every term from step 0 (ToCo COCO: 3 stages), but the switch from aux-CAM to final-CAM pseudo labels at 12k
    pseudo_label=dict(cam=dict(source='aux', final_after=12000)),
    decode_head=dict(num_classes=81),
    aux_losses=dict(
        ctc=dict(loss=dict(temperature=1.0)),  # hard-coded in the COCO script
        # no adaptive weight (0.5 directly); bank threshold 0.45; the release never updates its COCO bank (its
        # counter is never incremented): VOC's interval of 200 here
        mp2m=dict(adaptive=False, bank=dict(bkg_thr=0.45))),
    test_cfg=dict(bkg_thr=0.45))
train_dataloader = dict(batch_size=4)
val_dataloader = dict(dataset=dict(ann_file='ImageSets/val_part.txt'))
