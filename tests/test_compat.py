"""Checkpoint loading with weights_only=True (mmengine checkpoints load, anything else is refused); pinned weights."""
import hashlib
import os
import os.path as osp
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.runner.checkpoint import _load_checkpoint

import mmwsss  # noqa: F401
from mmwsss.compat import CheckpointHashError, UnsafeCheckpointError, load_checkpoint_file, pinned_sha256


def _mmengine_like_checkpoint():
    hub = MessageHub.get_instance('test_compat')
    for i in range(3):
        hub.update_scalar('train/loss', 1.0 / (i + 1))
    return dict(meta=dict(iter=3, seed=0, dataset_meta=dict(classes=('a', 'b'), palette=[[0, 0, 0], [1, 1, 1]])),
                state_dict={'w': torch.ones(2)}, message_hub=hub.state_dict(),
                extra=dict(arr=np.arange(4, dtype=np.float32), scalar=np.float64(2.5), flag=np.bool_(True)))


def test_torch_defaults_to_weights_only():
    assert tuple(int(x) for x in torch.__version__.split('.')[:2]) >= (2, 6)
    assert 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD' not in os.environ


def test_mmengine_checkpoint_loads_with_weights_only(tmp_path):
    path = str(tmp_path / 'ckpt.pth')
    torch.save(_mmengine_like_checkpoint(), path)
    ckpt = _load_checkpoint(path, map_location='cpu')  # mmengine's own entry point (runner.resume/load)
    buf = ckpt['message_hub']['log_scalars']['train/loss']
    assert isinstance(buf, HistoryBuffer)
    assert buf.current() == pytest.approx(1 / 3)
    assert buf.mean() == pytest.approx((1 + 1 / 2 + 1 / 3) / 3)
    np.testing.assert_array_equal(ckpt['extra']['arr'], np.arange(4, dtype=np.float32))
    assert ckpt['extra']['scalar'] == 2.5
    assert torch.equal(ckpt['state_dict']['w'], torch.ones(2))


class _RunsShellOnLoad:
    """Pickles as os.system(<command>): unpickling it with weights_only=False would run the command."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


def test_checkpoint_with_arbitrary_object_is_refused(tmp_path):
    marker = tmp_path / 'pwned'
    path = str(tmp_path / 'evil.pth')
    torch.save(dict(state_dict={'w': torch.ones(1)}, payload=_RunsShellOnLoad(marker)), path)
    with pytest.raises(UnsafeCheckpointError) as info:
        _load_checkpoint(path, map_location='cpu')
    message = str(info.value)
    assert path in message and 'system' in message and 'weights_only=True' in message
    assert not marker.exists(), 'the pickled command was executed'


def test_weights_only_cannot_be_turned_off_by_env(tmp_path, monkeypatch):
    marker = tmp_path / 'pwned'
    path = str(tmp_path / 'evil.pth')
    torch.save({'payload': _RunsShellOnLoad(marker)}, path)
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    with pytest.raises(UnsafeCheckpointError):
        load_checkpoint_file(path)
    assert not marker.exists()


class _GetattrEscape:
    """Asks the unpickler for getattr(HistoryBuffer, '__init__'): getattr is allow-listed only for statistics."""

    def __reduce__(self):
        return getattr, (HistoryBuffer, '__init__')


def test_restricted_getattr_refuses_other_attributes(tmp_path):
    path = str(tmp_path / 'getattr.pth')
    torch.save({'x': _GetattrEscape()}, path)
    with pytest.raises(UnsafeCheckpointError, match='__init__'):
        load_checkpoint_file(path)


def test_missing_checkpoint_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='nothing.pth'):
        load_checkpoint_file(str(tmp_path / 'nothing.pth'))


def test_unsafe_error_is_an_unpickling_error():
    assert issubclass(UnsafeCheckpointError, pickle.UnpicklingError)
    assert osp.basename(mmwsss.compat.__file__) == 'compat.py'


# ------------------------------------------------------------------------------------ pinned pretrained weights
@pytest.fixture
def weight_server(tmp_path, monkeypatch):
    """A local http server over tmp_path/served, and a fresh torch hub cache."""
    import functools
    import http.server
    import threading
    served = tmp_path / 'served'
    served.mkdir()
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'hub'))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield served, f'http://127.0.0.1:{server.server_address[1]}'
    server.shutdown()


def _weights(path, value):
    torch.save({'state_dict': {'w': torch.full((4,), float(value))}}, path)
    return hashlib.sha256(open(path, 'rb').read()).hexdigest()


def test_pinned_weights_load_and_a_replaced_cache_file_is_refused(weight_server, tmp_path):
    served, base = weight_server
    digest = _weights(tmp_path / 'w.pth', 1)
    name = f'backbone-{digest[:8]}.pth'
    (tmp_path / 'w.pth').rename(served / name)
    ckpt = _load_checkpoint(f'{base}/{name}', map_location='cpu')
    assert torch.equal(ckpt['state_dict']['w'], torch.ones(4))

    cached = tmp_path / 'hub' / 'hub' / 'checkpoints' / name
    assert cached.is_file()
    _weights(cached, 2)  # someone replaces the cached file
    with pytest.raises(CheckpointHashError) as info:
        _load_checkpoint(f'{base}/{name}', map_location='cpu')
    assert str(cached) in str(info.value) and digest[:8] in str(info.value)


def test_download_with_the_wrong_hash_is_refused_and_not_kept(weight_server, tmp_path):
    served, base = weight_server
    _weights(served / 'backbone-deadbeef.pth', 1)
    with pytest.raises(CheckpointHashError, match='deadbeef'):
        _load_checkpoint(f'{base}/backbone-deadbeef.pth', map_location='cpu')
    assert not list((tmp_path / 'hub').rglob('backbone-deadbeef*')), 'the mismatching download was kept'


def test_unpinned_url_is_refused_and_fragment_pins_work(weight_server, tmp_path):
    served, base = weight_server
    digest = _weights(served / 'plain.pth', 3)
    with pytest.raises(CheckpointHashError, match='pins no sha256'):
        _load_checkpoint(f'{base}/plain.pth', map_location='cpu')
    ckpt = _load_checkpoint(f'{base}/plain.pth#sha256={digest}', map_location='cpu')
    assert float(ckpt['state_dict']['w'][0]) == 3


def test_every_url_in_the_configs_is_pinned():
    import glob
    import re
    urls = []
    for path in glob.glob(osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'configs', '**', '*.py'),
                          recursive=True):
        text = open(path).read().replace("'\n              '", '')  # joined string literals
        urls += [(path, u) for u in re.findall(r"https?://[^'\"\s]+", text) if not u.endswith('/')]
    assert urls, 'no pretrained URL found in the configs'
    unpinned = [(p, u) for p, u in urls if pinned_sha256(u) is None]
    assert not unpinned, unpinned
