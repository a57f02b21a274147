# MSFC on PASCAL VOC 2012 + SBD, built as the method describes (docs/methods/msfc.md lists every deviation from the
# released code): 2 GPUs x 2 images (global batch 4, ToCo's; the release launches 2 GPUs x 2 but its memory branch
# only works with 1 image per process), 20k iterations, DeiT-B/16 (the release's COCO default; its VOC default is
# timm's ViT-B/16). The checkpoint interval (2000) is a multiple of the bank interval (200), so a checkpoint always
# holds a just-updated bank.
_base_ = ['../_base_/models/msfc_deit-b16.py', '../_base_/datasets/voc12aug_weak.py',
          '../_base_/schedules/wsss_adamw_20k.py']
train_dataloader = dict(batch_size=2)
