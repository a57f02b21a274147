"""mmwsss registers into MMSeg's registries, under names that do not clash with MMSeg's."""
import inspect

import mmseg.registry as mmseg_registry
from mmengine.registry import Registry

import mmwsss  # noqa: F401


def _mmwsss_entries():
    """(registry name, registered name, class) for every mmwsss class in any mmseg registry."""
    entries = []
    for attr, registry in vars(mmseg_registry).items():
        if isinstance(registry, Registry):
            for name, obj in registry.module_dict.items():
                if getattr(obj, '__module__', '').startswith('mmwsss'):
                    entries.append((attr, name, obj))
    return entries


def test_mmwsss_components_live_in_mmseg_registries():
    entries = _mmwsss_entries()
    assert ('DATASETS', 'WeakShapesDataset') in {(r, n) for r, n, _ in entries}
    for registry_name, name, obj in entries:
        registry = getattr(mmseg_registry, registry_name)
        assert registry.scope == 'mmseg'
        assert registry.get(name) is obj


def test_mmwsss_names_do_not_shadow_openmmlab_names():
    """No mmwsss class re-uses a name that mmseg, mmengine or mmpretrain registers in any registry."""
    import mmpretrain.registry as mmpretrain_registry
    import mmengine.registry as mmengine_registry
    others = set()
    for module in (mmseg_registry, mmengine_registry, mmpretrain_registry):
        for registry in vars(module).values():
            if isinstance(registry, Registry):
                others |= {n for n, o in registry.module_dict.items()
                           if not getattr(o, '__module__', '').startswith('mmwsss')}
    clashes = [name for _, name, _ in _mmwsss_entries() if name in others]
    assert not clashes, f'mmwsss names that clash with OpenMMLab names: {clashes}'


def test_registered_classes_are_documented():
    for _, name, obj in _mmwsss_entries():
        assert inspect.getdoc(obj), f'{name} has no docstring'
