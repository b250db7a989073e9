"""The ablation of the paper's poster (``blindiqa ablate``).

Four variants of the encoder (synthetic only; + authentic; + authentic + MI with a
log-likelihood q; + authentic + MI with a contrastive-likelihood q), each trained (or
reused), fitted on the pristine corpus and benchmarked; see
:mod:`blindiqa.ablate.runner`. :mod:`blindiqa.ablate.probe` holds the measurement behind
the default learning rate of q.

>>> from blindiqa.ablate import AblationConfig, run_ablation
>>> run_ablation(AblationConfig(init="runs/s1", pristine=["data/pristine"],
...                             unlabeled=["data/unlabeled"],
...                             datasets=[("clive", "data/clive-dev")],
...                             out="out/ablation"))  # doctest: +SKIP
"""

from blindiqa.ablate.runner import (
    VARIANT_KEYS,
    VARIANTS,
    AblationConfig,
    Variant,
    VariantResult,
    run_ablation,
)

__all__ = ["VARIANTS", "VARIANT_KEYS", "AblationConfig", "Variant", "VariantResult",
           "run_ablation"]
