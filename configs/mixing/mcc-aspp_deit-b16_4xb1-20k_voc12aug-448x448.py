# Mixing at full scale: MCC on VOC (configs/mcc/mcc_deit-b16_4xb1-20k_voc12aug-448x448.py) with MMSeg's stock
# ASPPHead on the DeiT-B patch tokens (768 x 28 x 28 for a 448 crop) instead of LargeFOV; the dense-CRF energy loss
# of the base config reads this head's logits the same way.
_base_ = ['../mcc/mcc_deit-b16_4xb1-20k_voc12aug-448x448.py']
model = dict(decode_head=dict(
    _delete_=True,
    type='ASPPHead',
    in_channels=768,
    in_index=1,
    channels=512,
    dilations=(1, 6, 12, 18),  # MMSeg's output-stride-16 set; the 28x28 token map is stride 16
    dropout_ratio=0.1,
    num_classes=21,
    norm_cfg=dict(type='SyncBN', requires_grad=True),
    align_corners=False,
    loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.1)))
