# COCO 2014 with image-level labels, 81 classes. Build masks, lists and labels with
#   python tools/dataset_converters/coco_weak.py data/coco2014
_base_ = ['./wsss_pipelines_448.py', './weak_loaders.py']
dataset_type = 'WeakCOCODataset'
data_root = 'data/coco2014'

train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='train2014'),
        ann_file='ImageSets/train.txt',
        pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='val2014', seg_map_path='SegmentationClass/val2014'),
        ann_file='ImageSets/val.txt',  # ImageSets/val_part.txt (first 5,000) for quick in-training checks
        pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
