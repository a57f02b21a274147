"""The structural step kept behaviour: today's code reproduces the golden values recorded before it.

``tools/misc/golden_values.py check`` trains the ToCo, MCC and MSFC WeakShapes configs for 30 iterations (seed 0,
deterministic CPU) and compares every logged value with ``tests/data/golden/losses.json``, then loads the small MSFC
checkpoint written by the code before the step (old state-dict layout) and compares its ``predict`` outputs with
``predictions.npz``. Tolerance 0: bit for bit.
"""
import pytest

from conftest import run_tool

pytestmark = pytest.mark.integration


@pytest.mark.timeout(900)
def test_losses_and_predictions_equal_the_goldens():
    proc = run_tool(['tools/misc/golden_values.py', 'check'], timeout=900)
    print(proc.stdout)
    assert 'SAME as the goldens' in proc.stdout
    for method in ('toco', 'mcc', 'msfc'):
        assert f'{method}: 30 iterations' in proc.stdout
    assert 'predict pseudo_labels' in proc.stdout
