# MCC on DeiT-B/16 (docs/methods/mcc.md): the core (PTC) + 8 key-masked copies of the local view (4x4-token
# blocks, P(masked) 0.95) against the 2 global views, labelled from the aux CAM, from the final CAM after step 12k.
_base_ = ['./wsss_deit-b16.py']
model = dict(aux_losses=dict(
    mcc=dict(type='MaskedViewContrast', num_views=8, block=4, mask_prob=0.95, neg_ratio=0.2,
             cam=dict(source='aux', final_after=12000), loss=dict(temperature=0.5, loss_weight=0.5), ema_momentum=0.9,
             projector=dict(type='DINOProjectionHead', in_dims=768, hidden_dims=2048, bottleneck_dims=256,
                            out_dims=1024))))
