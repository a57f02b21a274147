"""The names under which a training sample carries what weak supervision adds to MMSeg's sample.

Defined once here and imported by the transforms that write them, :class:`~mmwsss.datasets.PackWeakSegInputs`
that packs them, :class:`~mmwsss.models.WeakSegDataPreProcessor` that normalises the views, and
:class:`~mmwsss.models.contrast.WSSSContext` that reads them in the model. A typo in one place is then an import
error, not a view that silently never arrives.
"""

#: ``(top, bottom, left, right)`` of the training crop that is image, not padding (crop pixels, bottom/right
#: exclusive), written by :class:`~mmwsss.datasets.transforms.RandomCropWithBox`; a metainfo key.
IMG_BOX = 'img_box'
#: the second global view (ToCo/MCC class-token contrast), a data-sample field.
VIEW_GLOBAL2 = 'img_global2'
#: the local view (the crop itself with its own photometric augmentation), a data-sample field.
VIEW_LOCAL = 'img_local'
#: the strong view (DuPL's consistency input: the main crop after RandAugment, flipped), a data-sample field.
VIEW_STRONG = 'img_strong'
#: every extra view, in the order the packer and the preprocessor handle them; a sample carries only the views its
#: pipeline adds (a ToCo/MCC sample has no strong view, a DuPL sample needs none of the contrastive ones).
VIEW_KEYS = (VIEW_GLOBAL2, VIEW_LOCAL, VIEW_STRONG)
#: geometry of the views, ``{'global2': {'box': ..., 'flip': ...}, 'local': {'flip': ...},
#: 'strong': {'flip': ..., 'scale': ...}}``; a metainfo key.
VIEW_META = 'view_meta'
#: the per-sample seed of :class:`~mmwsss.datasets.SeededInfiniteSampler` for the model's random draws; metainfo.
SAMPLE_SEED = 'sample_seed'
#: the image-level multi-hot label, a data-sample field.
IMG_LABELS = 'gt_img_labels'
