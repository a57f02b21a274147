"""Print the versions of the stack mmwsss runs on and fail loudly if a piece is missing or fake.

Run as ``python -m mmwsss.utils.check_env``; ``make install`` runs it last.
"""
import importlib
import sys


def collect_env() -> dict:
    """Import every dependency and return ``{name: version}``; raise ImportError naming the broken one."""
    versions = {'python': sys.version.split()[0]}
    for module, dist in [('torch', 'torch'), ('torchvision', 'torchvision'), ('mmengine', 'mmengine'),
                         ('mmcv', 'mmcv'), ('mmseg', 'mmsegmentation'), ('mmpretrain', 'mmpretrain'),
                         ('pydensecrf.densecrf', 'pydensecrf2'), ('pycocotools.mask', 'pycocotools')]:
        try:
            mod = importlib.import_module(module)
        except Exception as exc:  # report which package is broken, with the original error
            raise ImportError(f'mmwsss needs {dist!r} but `import {module}` failed: {exc!r}. '
                              'Run `make install` (see docs/installation.md).') from exc
        versions[dist] = getattr(mod, '__version__', 'installed')
    try:
        from mmcv.ops import nms  # noqa: F401  (needs the compiled extension mmcv._ext)
        import mmcv._ext  # noqa: F401
    except Exception as exc:
        raise ImportError('mmcv is installed without its compiled ops (mmcv-lite or a broken build): '
                          f'{exc!r}. Reinstall with tools/misc/install_mmcv.sh.') from exc
    versions['mmcv ops'] = 'compiled'
    import mmwsss
    versions['mmwsss'] = mmwsss.__version__
    return versions


def main():
    for name, version in collect_env().items():
        print(f'{name:>14}: {version}')


if __name__ == '__main__':
    main()
