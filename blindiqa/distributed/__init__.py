"""Scoring and fitting on many workers: Ray (optional extra ``ray``) and ``torchrun``.

Ray is imported only when a function that needs it runs, so ``import
blindiqa.distributed`` works without it.
"""

from blindiqa.distributed.ray_score import score_with_ray

__all__ = ["score_with_ray"]
