"""The training losses of both stages of Babu et al. (WACV 2023).

Stage 1, synthetic contrastive pre-training: :class:`IntraSceneInfoNCELoss` (the paper)
contrasts the distortions of one scene; :class:`NTXentMultiPositiveLoss` (CONTRIQUE,
Madhusudana et al., TIP 2022) contrasts distortion classes across the batch.

Stage 2, authentic fine-tuning: :func:`simsiam_loss` (SimSiam, Chen & He, CVPR 2021) on
two crops of one photo through a :class:`SimSiamPredictor`, with :func:`feature_std` as
the collapse check; and the CLUB mutual-information penalty :func:`club_penalty`
(Cheng et al., ICML 2020) between quality and content features, estimated by a
:class:`ConditionalGaussian` ``q`` trained by :func:`q_loss`.
"""

from blindiqa.losses.club import (
    Q_OBJECTIVES,
    ConditionalGaussian,
    club_penalty,
    club_upper_bound,
    contrastive_q_loss,
    gaussian_log_likelihood,
    loglik_q_loss,
    matched_sq_errors,
    product_sq_errors,
    q_loss,
)
from blindiqa.losses.intra_scene_infonce import IntraSceneInfoNCELoss, intra_scene_infonce
from blindiqa.losses.ntxent_multi_positive import (
    NTXentMultiPositiveLoss,
    ntxent_multi_positive,
)
from blindiqa.losses.simsiam import (
    SimSiamPredictor,
    feature_std,
    negative_cosine,
    simsiam_loss,
)

__all__ = [
    "Q_OBJECTIVES",
    "ConditionalGaussian",
    "IntraSceneInfoNCELoss",
    "NTXentMultiPositiveLoss",
    "SimSiamPredictor",
    "club_penalty",
    "club_upper_bound",
    "contrastive_q_loss",
    "feature_std",
    "gaussian_log_likelihood",
    "intra_scene_infonce",
    "loglik_q_loss",
    "matched_sq_errors",
    "negative_cosine",
    "ntxent_multi_positive",
    "product_sq_errors",
    "q_loss",
    "simsiam_loss",
]
