"""Contrastive losses of synthetic pre-training.

:class:`IntraSceneInfoNCELoss` (Babu et al., WACV 2023) contrasts the distortions of one
scene; :class:`NTXentMultiPositiveLoss` (CONTRIQUE, Madhusudana et al., TIP 2022)
contrasts distortion classes across the batch.
"""

from blindiqa.losses.intra_scene_infonce import IntraSceneInfoNCELoss, intra_scene_infonce
from blindiqa.losses.ntxent_multi_positive import (
    NTXentMultiPositiveLoss,
    ntxent_multi_positive,
)

__all__ = [
    "IntraSceneInfoNCELoss",
    "NTXentMultiPositiveLoss",
    "intra_scene_infonce",
    "ntxent_multi_positive",
]
