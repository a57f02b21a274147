"""tools/analysis_tools/benchmark_gpu.py --small on the CPU: every method, both precisions, FLOPs, masked views."""
import json
import math
import os.path as osp

import pytest

from conftest import run_tool

pytestmark = pytest.mark.integration


@pytest.mark.timeout(600)
def test_small_benchmark_covers_every_method(tmp_path):
    out = tmp_path / 'bench.json'
    proc = run_tool(['tools/analysis_tools/benchmark_gpu.py', '--small', '--device', 'cpu', '--iters', '1',
                     '--warmup', '0', '--batch-size', '2', '--out', str(out)], timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    record = json.loads(out.read_text())
    methods = {osp.basename(r['config']).split('_')[0]: r for r in record['results']}
    assert {'toco', 'mcc', 'msfc', 'dupl'} <= set(methods), methods.keys()
    for name, row in methods.items():
        assert row['batch'] == 2 and row['flops_per_step'] > 1e9, (name, row['flops_per_step'])
        for precision in ('fp32', 'bf16'):
            r = row[precision]
            assert r['s_per_iter'] > 0 and r['images_per_s'] > 0 and r['peak_mem_gib'] > 0
            assert r['losses'] and all(math.isfinite(v) for v in r['losses'].values()), (name, precision)
            assert r['mfu_vs_bf16_peak'] is None  # no peak known for a CPU
    # the masked views exist in MCC only; ToCo has none
    assert methods['mcc']['masked_views']['views'] == 2 * 8 and methods['mcc']['masked_views']['visible_s'] > 0
    assert 'masked_views' not in methods['toco']
    # MCC's FLOPs include its 8 masked views on top of ToCo's step
    assert methods['mcc']['flops_per_step'] > methods['toco']['flops_per_step']
    # DuPL is timed at the step where every term runs: both students' segmentation, the GMM filter, consistency
    assert {'student1.decode.loss_seg', 'student0.loss_reg', 'gmm_removed'} <= set(methods['dupl']['fp32']['losses'])
    for row in record['results']:
        assert osp.basename(row['config']) in proc.stdout
