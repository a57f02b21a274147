# Mixing: the MCC single-stage recipe on WeakShapes with MMSeg's stock ASPPHead (DeepLabV3) as the segmentation
# head instead of LargeFOV, and MMSeg's stock CrossEntropyLoss (ignore_index 255 skips the pseudo labels' band).
# The WeakSegmentor feeds any decode head the backbone's (cls token, patch tokens, aux tokens): in_index=1 picks
# the final patch tokens (192 x 12 x 12 for a 96 px crop).
_base_ = ['../mcc/mcc_vit-tiny-p8_1xb8-700_weakshapes-96x96.py']
model = dict(decode_head=dict(
    _delete_=True,
    type='ASPPHead',
    in_channels=192,
    in_index=1,
    channels=128,
    dilations=(1, 2, 4, 6),  # MMSeg's (1, 12, 24, 36) are for 64x64 maps; these are 12x12
    dropout_ratio=0.1,
    num_classes=6,
    norm_cfg=dict(type='BN', requires_grad=True),
    align_corners=False,
    loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.1)))  # the reference's seg weight
