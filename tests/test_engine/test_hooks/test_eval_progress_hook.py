"""EvalProgressHook (mmwsss/engine/hooks/eval_progress_hook.py): a bar over val/test batches, only on a terminal
unless asked."""
import types

from mmwsss.engine.hooks import EvalProgressHook


def _run(hook, phase='test', n=3):
    runner = types.SimpleNamespace(test_dataloader=list(range(n)), val_dataloader=list(range(n)))
    getattr(hook, f'before_{phase}_epoch')(runner)
    for i in range(n):
        getattr(hook, f'after_{phase}_iter')(runner, i)
    getattr(hook, f'after_{phase}_epoch')(runner)


def test_bar_counts_every_batch_when_asked(capsys):
    _run(EvalProgressHook(always=True), 'test', 3)
    out = capsys.readouterr().out
    assert '3/3' in out and out.endswith('\n')
    _run(EvalProgressHook(always=True), 'val', 2)
    assert '2/2' in capsys.readouterr().out


def test_quiet_when_stdout_is_not_a_terminal(capsys):
    _run(EvalProgressHook(), 'test', 3)  # pytest captures stdout: not a terminal
    assert capsys.readouterr().out == ''
