# COCO 2014 -> class masks, split lists and image-level labels (see mmwsss/datasets/converters/coco.py).
#
#   python tools/dataset_converters/coco_weak.py data/coco2014 --nproc 8
#
# Resumable: masks that exist are kept, so an interrupted run is simply started again.
import argparse
import json
import os
import os.path as osp
import time

from mmwsss.datasets.converters.coco import check_official_counts, convert_coco, is_full_split


def parse_args():
    parser = argparse.ArgumentParser(
        description='Convert COCO 2014 instances to palette class masks (81 classes, first instance wins), '
        'split lists (ImageSets/{train,val,val_part}.txt) and image-level labels (cls_labels_onehot.npy)')
    parser.add_argument('coco_root', nargs='?', default='data/coco2014',
                        help='holds annotations/instances_{train,val}2014.json (and train2014/, val2014/)')
    parser.add_argument('-o', '--out-dir', default=None, help='output root (default: the COCO root)')
    parser.add_argument('--nproc', type=int, default=os.cpu_count(), help='worker processes (default: all cores)')
    parser.add_argument('--force', action='store_true', help='rewrite masks that already exist')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar (e.g. in logs)')
    return parser.parse_args()


def main():
    args = parse_args()
    start = time.perf_counter()
    summary = convert_coco(args.coco_root, out_root=args.out_dir, nproc=args.nproc, force=args.force,
                           progress=not args.no_progress)
    elapsed = time.perf_counter() - start
    for split, info in summary['splits'].items():
        print(f'{split}: {info["num_images"]} images with annotations of {info["num_json_images"]} in '
              f'{info["json"]} ({info["num_excluded"]} excluded for having no annotation); masks: '
              f'{info["num_written"]} written, {info["num_skipped"]} skipped as already done -> {info["mask_dir"]}')
        print(f'  {split} label-count histogram {{labels per image: images}}: {json.dumps(info["histogram"])}')
        if not osp.isdir(info['img_dir']):
            print(f'  note: image folder {info["img_dir"]} does not exist; the dataset configs will need it')
    print(f'val_part: {summary["num_val_part"]} images -> {summary["val_part_file"]}')
    print(f'labels -> {summary["label_file"]}; done in {elapsed:.1f} s')
    for warning in check_official_counts(summary):
        print(f'WARNING: {warning}')
    if not any(is_full_split(split, info['num_json_images']) for split, info in summary['splits'].items()):
        print('(a subset of COCO 2014: counts not compared with the official numbers)')


if __name__ == '__main__':
    main()
