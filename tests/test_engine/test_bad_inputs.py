"""Every bad input of docs/reliability.md ("Bad configs and data") gives a message naming the file, class or key.

Each case runs the real tool (tools/train.py or tools/test.py) on a copy of the tiny WeakShapes tree, spoilt in
one way, and checks the final error line. ``python tests/test_engine/test_bad_inputs.py`` prints the table of
docs/reliability.md from the same cases.
"""
import os
import os.path as osp
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, osp.dirname(HERE))
from conftest import REPO_ROOT  # noqa: E402

pytestmark = pytest.mark.integration

MCC = 'configs/mcc/mcc_vit-tiny-p8_1xb8-700_weakshapes-96x96.py'


def spoilt_copy(src, dst, spoil):
    shutil.copytree(src, dst)
    spoil(dst)
    return dst


def _labels_of_wrong_length(root):
    table = np.load(osp.join(root, 'cls_labels_onehot.npy'), allow_pickle=True).item()
    np.save(osp.join(root, 'cls_labels_onehot.npy'), {k: np.zeros(20, np.float32) for k in table}, allow_pickle=True)


def _corrupt_image(root):
    stem = open(osp.join(root, 'ImageSets', 'Segmentation', 'train.txt')).read().split()[0]
    with open(osp.join(root, 'JPEGImages', stem + '.jpg'), 'wb') as f:
        f.write(b'\xff\xd8 this is not a JPEG')


def _empty_split(root):
    open(osp.join(root, 'ImageSets', 'Segmentation', 'train.txt'), 'w').close()


def _missing_image(root):
    stem = open(osp.join(root, 'ImageSets', 'Segmentation', 'train.txt')).read().split()[1]
    os.remove(osp.join(root, 'JPEGImages', stem + '.jpg'))


def _other_architecture_checkpoint(path):
    """A real checkpoint of another model: the stock MMSeg smoke config (FCN, ResNet-18), as mmengine saves it."""
    return _checkpoint_of(osp.join(REPO_ROOT, 'configs', 'smoke', 'fcn_r18-tiny_1xb4-40_weakshapes-96x96.py'), path)


def _voc_tree(tmp):
    sys.path.insert(0, osp.join(REPO_ROOT, 'tests'))
    from fixtures.voc_tree import make_voc_tree
    return make_voc_tree(str(tmp / 'voc'), num_train=2, num_val=2, num_aug_only=0, with_label_file=True)['voc_root']


def _checkpoint_of(config, path):
    """What mmengine saves for ``config``'s model (freshly initialised weights, the config in the meta)."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    import mmwsss  # noqa: F401
    init_default_scope('mmseg')
    cfg = Config.fromfile(config)
    model = MODELS.build(cfg.model)
    torch.save({'meta': {'config': cfg.pretty_text, 'iter': 40, 'epoch': 0}, 'state_dict': model.state_dict()}, path)
    return path


#: name -> (how it is triggered, tool args builder (root, tmp) -> argv, substrings the last error line must hold)
CASES = {
    'wrong num_classes vs label length': (
        'MCC WeakShapes config with `model.decode_head.num_classes=21` (labels have 5 entries)',
        lambda root, tmp: ['tools/train.py', MCC, '--cfg-options', *_data(root), 'model.decode_head.num_classes=21'],
        ['WeakShapesDataset has 6 classes', 'model.decode_head (LargeFOVHead).num_classes = 21']),
    'label file of another dataset (wrong vector length)': (
        'label vectors of length 20 (VOC) in a WeakShapes tree',
        lambda root, tmp: ['tools/train.py', MCC, '--cfg-options',
                           *_data(spoilt_copy(root, tmp / 'd', _labels_of_wrong_length))],
        ['cls_labels_onehot.npy has 20 entries but the dataset has 5 foreground classes']),
    'missing label file': (
        '`train_dataloader.dataset.label_file=missing.npy`',
        lambda root, tmp: ['tools/train.py', MCC, '--cfg-options', *_data(root),
                           'train_dataloader.dataset.label_file=missing.npy'],
        # found by the pre-flight, before the model and the data are built
        ['label file', 'missing.npy of train_dataloader (WeakShapesDataset) does not exist', 'make_weakshapes.py']),
    'class list mismatch between dataset and model': (
        '`tools/test.py` of a WeakShapes MCC checkpoint (6 classes) on a VOC tree (21 classes)',
        lambda root, tmp: ['tools/test.py', MCC, _checkpoint_of(MCC, str(tmp / 'mcc.pth')), '--work-dir',
                           str(tmp / 'w'), '--cfg-options', 'test_dataloader.dataset.type=WeakVOCDataset',
                           f'test_dataloader.dataset.data_root={_voc_tree(tmp)}',
                           'test_dataloader.dataset.data_prefix.seg_map_path=SegmentationClass'],
        ['test dataset WeakVOCDataset has 21 classes (background, aeroplane', 'num_classes = 6']),
    'unknown registry name': (
        '`model.backbone.type=WSSSVit` (typo)',
        lambda root, tmp: ['tools/train.py', MCC, '--cfg-options', *_data(root), 'model.backbone.type=WSSSVit'],
        ['WSSSVit is not in the mmseg::model registry', 'Did you mean WSSSViT?']),
    'corrupt image': (
        'the first training JPEG overwritten with garbage',
        lambda root, tmp: ['tools/train.py', MCC, '--cfg-options',
                           *_data(spoilt_copy(root, tmp / 'd', _corrupt_image)),
                           'train_dataloader.sampler.shuffle=False'],  # the spoilt first image comes first
        ['WeakShapesDataset: failed to load item', '.jpg']),
    'missing image': (
        'a training JPEG deleted',
        lambda root, tmp: ['tools/train.py', MCC, '--cfg-options',
                           *_data(spoilt_copy(root, tmp / 'd', _missing_image))],
        ['files listed by', 'do not exist', '.jpg']),
    'empty split': (
        'an empty `train.txt`',
        lambda root, tmp: ['tools/train.py', MCC, '--cfg-options', *_data(spoilt_copy(root, tmp / 'd', _empty_split))],
        ['split list', 'train.txt is empty']),
    'checkpoint from another architecture (test)': (
        '`tools/test.py` of the MCC config with an FCN/ResNet-18 checkpoint',
        lambda root, tmp: ['tools/test.py', MCC, _other_architecture_checkpoint(str(tmp / 'fcn.pth')), '--work-dir',
                           str(tmp / 'w'), '--cfg-options', f'test_dataloader.dataset.data_root={root}'],
        ['is not a checkpoint of this WeakSegmentor', 'saved from a EncoderDecoder / ResNetV1c / FCNHead']),
    'checkpoint from another architecture (--resume)': (
        '`tools/train.py --resume fcn.pth` with the MCC config',
        lambda root, tmp: ['tools/train.py', MCC, '--resume', _other_architecture_checkpoint(str(tmp / 'fcn.pth')),
                           '--cfg-options', *_data(root)],
        ['cannot resume from', 'does not match WeakSegmentor']),
}


def _data(root):
    return [f'train_dataloader.dataset.data_root={root}', f'val_dataloader.dataset.data_root={root}',
            'train_dataloader.batch_size=2', 'train_cfg.max_iters=2', 'train_cfg.val_interval=1000']


def run_case(name, root, tmp):
    """Run the case's tool; return (exit code, the pre-flight's first problem or else the last error line)."""
    argv = CASES[name][1](root, tmp)
    env = {k: v for k, v in os.environ.items() if not k.startswith('TORCH_FORCE_')}
    if argv[0] == 'tools/train.py' and '--work-dir' not in argv:
        argv = argv[:2] + ['--work-dir', str(tmp / 'work')] + argv[2:]
    proc = subprocess.run([sys.executable, *argv], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    output = (proc.stdout + proc.stderr).splitlines()
    if any(line.startswith('mmwsss pre-flight:') for line in output):
        first = output.index(next(line for line in output if line.startswith('mmwsss pre-flight:')))
        return proc.returncode, output[first + 1].strip()
    lines = [line.strip() for line in output if re.match(r'^(\w+\.)*\w*(Error|Exception)\b', line.strip())]
    return proc.returncode, (lines[-1] if lines else '')


@pytest.mark.timeout(300)
@pytest.mark.parametrize('name', list(CASES))
def test_bad_input_gives_a_clear_message(name, tiny_weakshapes, tmp_path):
    code, message = run_case(name, tiny_weakshapes, tmp_path)
    assert code != 0, f'{name}: the tool did not fail'
    for part in CASES[name][2]:
        assert part in message, f'{name}: {part!r} not in the error line:\n{message}'


if __name__ == '__main__':  # print the docs table
    import pathlib
    import tempfile

    from mmwsss.datasets import generate_weakshapes
    base = pathlib.Path(tempfile.mkdtemp())
    generate_weakshapes(str(base / 'ws'), num_train=32, num_val=8, seed=0, progress=False)
    print('| bad input | how it was made | message (the pre-flight\'s problem line, else the tool\'s last error line) |\n|---|---|---|')
    for i, name in enumerate(CASES):
        tmp = base / f'case{i}'
        tmp.mkdir()
        code, message = run_case(name, str(base / 'ws'), tmp)
        message = message.replace(str(base), '<tmp>').replace('|', '\\|').replace('`', "'")
        print(f'| {name} | {CASES[name][0]} | `{message}` |')
