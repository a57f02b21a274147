"""tools/analysis_tools/benchmark_train_step.py: one config, and several alternating in rounds (matched conditions)."""
import re

import pytest

from conftest import run_tool

pytestmark = pytest.mark.integration

TOOL = 'tools/analysis_tools/benchmark_train_step.py'
TOCO = 'configs/toco/toco_vit-tiny-p8_1xb8-700_weakshapes-96x96.py'
MSFC = 'configs/msfc/msfc_vit-tiny-p8_1xb8-700_weakshapes-96x96.py'


def test_two_configs_alternate_and_the_ratio_is_of_their_medians(tiny_weakshapes):
    proc = run_tool([TOOL, TOCO, MSFC, '--data-root', tiny_weakshapes, '--iters', '1', '--rounds', '2'],
                    env={'OMP_NUM_THREADS': '1'})
    out = proc.stdout
    print(out)
    # MSFC's memory loss runs in the timed steps: the bank is filled from the warm-up step
    assert 'msfc_vit-tiny-p8_1xb8-700_weakshapes-96x96: memory bank filled from the warm-up step' in out
    assert 'loss_mem' in out and 'loss_smcm' in out
    rows = {m.group(1): m.groups()[1:] for m in
            re.finditer(r'^\| (\S+) \| ([\d.]+) \| ([\d.]+)x \| ([\d.]+) \| ([\d.]+) \|$', out, re.M)}
    assert set(rows) == {'toco_vit-tiny-p8_1xb8-700_weakshapes-96x96', 'msfc_vit-tiny-p8_1xb8-700_weakshapes-96x96'}
    toco = [float(v) for v in rows['toco_vit-tiny-p8_1xb8-700_weakshapes-96x96']]
    msfc = [float(v) for v in rows['msfc_vit-tiny-p8_1xb8-700_weakshapes-96x96']]
    assert toco[1] == 1.0
    # one step per round: the median of all rounds is the mean of the two round values, the ratio that over toco's
    for median, _, r1, r2 in (toco, msfc):
        assert median == pytest.approx((r1 + r2) / 2, abs=1e-3)
    assert msfc[1] == pytest.approx(msfc[0] / toco[0], abs=0.01)
    assert out.count('seconds per iteration:') == 2 and '(median of 2)' in out


def test_iters_and_rounds_must_be_positive(tiny_weakshapes):
    with pytest.raises(AssertionError, match='--iters and --rounds must be at least 1'):
        run_tool([TOOL, TOCO, '--data-root', tiny_weakshapes, '--rounds', '0'])
