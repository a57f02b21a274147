from .wsss_vit import WSSSViT

__all__ = ['WSSSViT']
