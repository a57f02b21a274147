# Build the weak-supervision files of PASCAL VOC 2012: with SBD (default), ImageSets/Segmentation/train_aug.txt and
# the image-level label file cls_labels_onehot.npy (train_aug + val), from SegmentationClassAug or Annotations/*.xml;
# without SBD (--no-sbd), only the label file of train + val, from SegmentationClass or Annotations/*.xml.
#
#   python tools/dataset_converters/voc_weak.py data/VOCdevkit/VOC2012 --nproc 8
#   python tools/dataset_converters/voc_weak.py data/VOCdevkit/VOC2012 --label-source xml --out labels_xml.npy
#   python tools/dataset_converters/voc_weak.py data/VOCdevkit/VOC2012 --no-sbd   # VOC 2012 alone: *_voc12-* configs
#   python tools/dataset_converters/voc_weak.py path/to/partial/VOC2012 --no-check-counts
import argparse
import os
import sys
import time

from mmwsss.datasets.converters.voc import MODES, VOC_REFERENCE_HISTOGRAM, build_voc_weak


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Write train_aug.txt and the image-level label file of '
                                     'PASCAL VOC 2012 + SBD (SegmentationClassAug), or with --no-sbd only the '
                                     'label file of VOC 2012 train + val')
    parser.add_argument('voc_root', nargs='?', default='data/VOCdevkit/VOC2012', help='the VOC2012 folder')
    parser.add_argument('--no-sbd', action='store_true',
                        help='VOC 2012 alone (no SegmentationClassAug): labels of train (1,464) + val (1,449) from '
                        'SegmentationClass or Annotations, no train_aug list; train with a *_voc12-448x448.py config')
    parser.add_argument('--aug-dir', help='SBD-augmented masks (default: <voc_root>/SegmentationClassAug; a '
                        'relative path missing from the working directory is looked up in voc_root)')
    parser.add_argument('--label-source', choices=('mask', 'xml'), default='mask',
                        help='derive labels from the masks (SegmentationClassAug; SegmentationClass with --no-sbd) '
                        'or from Annotations/*.xml')
    parser.add_argument('--out', help='label file to write (default: <voc_root>/cls_labels_onehot.npy)')
    parser.add_argument('--nproc', type=int, default=min(8, os.cpu_count() or 1),
                        help='worker processes for reading the masks (1: no pool)')
    parser.add_argument('--no-check-counts', action='store_true',
                        help='only report split sizes that differ from the official ones (for partial trees)')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    start = time.perf_counter()
    try:
        info = build_voc_weak(args.voc_root, aug_dir=args.aug_dir, label_source=args.label_source,
                              out_label_file=args.out, nproc=args.nproc, check_counts=not args.no_check_counts,
                              progress=not args.no_progress, sbd=not args.no_sbd)
    except (FileNotFoundError, ValueError) as exc:
        # A broken tree is a user error, not a bug: the message says what to fix, a traceback would bury it.
        sys.exit(f'error: {exc}')
    elapsed = time.perf_counter() - start

    print(f'mode: {MODES[info["mode"]][0]}')
    print('split sizes:')
    for name, num in info['counts'].items():
        print(f'  {name:<10} {num:>6,}  (official {info["official_counts"][name]:,})')
    if info['count_mismatches']:
        print(f'  warning: {len(info["count_mismatches"])} sizes differ from the official ones '
              '(accepted by --no-check-counts: partial tree)')
    source = info['mask_dir'] or 'Annotations/*.xml'
    print(f'labels per image ({info["label_source"]}: {source}):')
    for num_labels, num_images in sorted(info['histogram'].items()):
        # ToCo's file covers train_aug + val: a reference for the SBD mode only
        ref = f'  (ToCo cls_labels_onehot.npy: {VOC_REFERENCE_HISTOGRAM.get(num_labels, 0):,})' \
            if info['mode'] == 'voc12aug' else ''
        print(f'  {num_labels} label(s): {num_images:>6,}{ref}')
    if info['split_file']:
        print(f'split list: {info["split_file"]}')
    else:
        print('split list: none written (no SBD: train on ImageSets/Segmentation/train.txt)')
    print(f'label file: {info["label_file"]}')
    print(f'done in {elapsed:.1f} s')


if __name__ == '__main__':
    main()
