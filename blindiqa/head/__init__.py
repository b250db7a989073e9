"""A small trainable head on the one-pass engine's frozen window descriptors.

The engine's window descriptors (ImageNet EfficientNet-Lite taps, frozen) go through a
:class:`QualityHead` before the Mahalanobis distance to the pristine windows. The head
is trained without opinion scores on cached descriptors (:mod:`blindiqa.head.cache`) by
the paper's two stages and our additions (:mod:`blindiqa.train.head`).
"""

from blindiqa.head.model import COMBINES, KINDS, HeadConfig, QualityHead

__all__ = ["COMBINES", "KINDS", "HeadConfig", "QualityHead"]
