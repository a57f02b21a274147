# ToCo on DeiT-B/16 (docs/methods/toco.md): the core (PTC) + class-token contrast of 8 local 96 px crops of the
# local view against the 2 global views (CTC), crop centres off confident foreground, labelled from the aux CAM.
_base_ = ['./wsss_deit-b16.py']
model = dict(aux_losses=dict(
    ctc=dict(type='LocalCropContrast', num_crops=8, crop_size=96, neg_ratio=0.2, cam=dict(source='aux'),
             loss=dict(temperature=0.5, loss_weight=0.5), ema_momentum=0.9,
             projector=dict(type='DINOProjectionHead', in_dims=768, hidden_dims=2048, bottleneck_dims=256,
                            out_dims=1024))))
