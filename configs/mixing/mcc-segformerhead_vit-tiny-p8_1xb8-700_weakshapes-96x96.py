# Mixing: the MCC single-stage recipe on WeakShapes with MMSeg's stock SegformerHead (all-MLP decoder) fusing two
# token levels of the ViT: the final patch tokens (in_index 1) and the aux-layer tokens (in_index 2), both
# 192 x 12 x 12; stock CrossEntropyLoss (ignore_index 255 skips the pseudo labels' band).
_base_ = ['../mcc/mcc_vit-tiny-p8_1xb8-700_weakshapes-96x96.py']
model = dict(decode_head=dict(
    _delete_=True,
    type='SegformerHead',
    in_channels=[192, 192],
    in_index=[1, 2],
    channels=128,
    dropout_ratio=0.1,
    num_classes=6,
    norm_cfg=dict(type='BN', requires_grad=True),
    align_corners=False,
    loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.1)))
