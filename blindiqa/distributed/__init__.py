"""Fitting on many workers: Ray (optional extra ``ray``) and ``torchrun``
(:mod:`blindiqa.distributed.fit`), and the Ray set-up that scoring on Ray
(:mod:`blindiqa.scoring.ray`) shares with it (:mod:`blindiqa.distributed.cluster`).

Ray is imported only when a function that needs it runs, so ``import
blindiqa.distributed`` works without it.
"""
