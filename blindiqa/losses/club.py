"""CLUB: the mutual-information penalty that separates quality from content.

Babu, Kannan, Soundararajan, "No Reference Opinion Unaware Quality Assessment of
Authentically Distorted Images", WACV 2023 (Stage 2), with the Contrastive Log-ratio
Upper Bound of Cheng, Hao, Dai, Liu, Gan & Carin, "CLUB: A Contrastive Log-ratio Upper
Bound of Mutual Information", ICML 2020.

The quality feature ``z`` (the encoder output) should carry no information about the
content feature ``x_c`` (the softmax of a frozen ImageNet classifier on the same crop).
A variational network ``q(x_c | z)``, a diagonal Gaussian with mean ``mu(z)`` and log
variance ``log var(z)`` (:class:`ConditionalGaussian`), gives the CLUB estimate of
``I(x_c; z)`` over a batch of ``N`` matched pairs ``(x_i, z_i)``::

    I_CLUB = mean_i log q(x_i | z_i) - mean_{i,j} log q(x_i | z_j)
           = 1/2 [ mean_{i,j} s_ij - mean_i s_ii ],   s_ij = sum_d (x_id - mu_d(z_j))^2 / var_d(z_j)

(the log-variance terms and constants cancel between the two means). The encoder's
penalty is the paper's ``L_MI = mean_{i,j} s_ij - mean_i s_ii = 2 I_CLUB`` (method.md,
"constants dropped"; the weight lambda = 1000 refers to it); :func:`club_upper_bound`
gives the estimate in nats, for the logs.

``q`` is trained with its own optimiser on detached features, by one of two objectives:

* ``loglik`` (CLUB): maximise the likelihood of the matched pairs,
  ``mean_i [ s_ii + sum_d log var_d(z_i) ]`` (:func:`loglik_q_loss`);
* ``contrastive`` (the paper's contrastive likelihood): make ``q`` likely on the joint
  ``p(x_c, z)`` *and* unlikely on the product ``p(x_c) p(z)``,
  ``mean_i s_ii - mean_{i,j} s_ij`` (:func:`contrastive_q_loss`). Note that this is
  ``-L_MI``: ``q`` maximises the very bound the encoder minimises. The objective is
  linear in ``mu`` along ``x_j - mean(x)`` and so has no minimum (``q`` can always scale
  its predictions up); with the bounded variance of ``q`` the estimate it gives grows with
  ``q``'s training. ``loglik_weight > 0`` adds that many times the ``loglik`` objective,
  which makes it bounded (our option: 0 is the paper; ``blindiqa train authentic``
  defaults to 1, by measurement, see :mod:`blindiqa.train.authentic`).

All pair sums over ``i, j`` are computed in closed form, in ``O(N d)``:
``mean_i (x_id - m)^2 = v_d + (xbar_d - m)^2`` with ``xbar, v`` the batch mean and (biased)
variance of ``x``.
"""

from __future__ import annotations

import torch
from torch import nn

#: The objectives of ``q``.
Q_OBJECTIVES = ("loglik", "contrastive")


def _check(x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> None:
    if x.ndim != 2 or mu.shape != x.shape or logvar.shape != x.shape:
        raise ValueError(f"x, mu and logvar must all be (N, d), got {tuple(x.shape)}, "
                         f"{tuple(mu.shape)} and {tuple(logvar.shape)}")
    if x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"need N >= 1 pairs and d >= 1, got {tuple(x.shape)}")


def matched_sq_errors(x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``s_ii = sum_d (x_id - mu_d(z_i))^2 / var_d(z_i)`` for every matched pair.

    Args:
        x: ``(N, d)`` content features; row ``i`` belongs with ``z_i``.
        mu: ``(N, d)`` means ``mu(z_i)`` of ``q``.
        logvar: ``(N, d)`` log variances ``log var(z_i)`` of ``q``.

    Returns:
        ``(N,)``.
    """
    _check(x, mu, logvar)
    return ((x - mu) ** 2 * torch.exp(-logvar)).sum(dim=1)


def product_sq_errors(x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``mean_i s_ij = mean_i sum_d (x_id - mu_d(z_j))^2 / var_d(z_j)`` for every ``j``:
    the scaled errors of ``q(. | z_j)`` on all content features of the batch (samples of
    the product of the marginals), in closed form.

    Returns:
        ``(N,)``, entry ``j``.
    """
    _check(x, mu, logvar)
    xbar = x.mean(dim=0, keepdim=True)
    v = ((x - xbar) ** 2).mean(dim=0, keepdim=True)
    return ((v + (xbar - mu) ** 2) * torch.exp(-logvar)).sum(dim=1)


def club_penalty(x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """The encoder's MI penalty of the paper (method.md, constants dropped)::

        L_MI = -mean_i s_ii + mean_{i,j} s_ij        (= 2 x the CLUB estimate in nats)

    Gradients flow into ``mu`` and ``logvar`` (hence into ``z`` through ``q``) and into
    ``x`` if it requires them (the content features are frozen in practice).

    Returns:
        A scalar tensor.
    """
    return product_sq_errors(x, mu, logvar).mean() - matched_sq_errors(x, mu, logvar).mean()


def club_upper_bound(x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """The CLUB estimate of ``I(x_c; z)`` in nats (Cheng et al., ICML 2020, Eq. 6 with all
    ``N^2`` pairs): ``mean_i log q(x_i|z_i) - mean_{i,j} log q(x_i|z_j)``.

    An upper bound of the mutual information when ``q`` is close to the true
    conditional; ``club_penalty / 2``.

    Returns:
        A scalar tensor.
    """
    return 0.5 * club_penalty(x, mu, logvar)


def loglik_q_loss(x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Training loss of ``q`` by likelihood (CLUB)::

        mean_i sum_d [ (x_id - mu_d(z_i))^2 / var_d(z_i) + log var_d(z_i) ]

    (``-2 x`` the mean log-likelihood of the matched pairs, constants dropped).

    Returns:
        A scalar tensor.
    """
    return (matched_sq_errors(x, mu, logvar) + logvar.sum(dim=1)).mean()


def contrastive_q_loss(x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
                       loglik_weight: float = 0.0) -> torch.Tensor:
    """Training loss of ``q`` by contrastive likelihood (Babu et al., WACV 2023)::

        mean_i s_ii - mean_{i,j} s_ij  [ + loglik_weight * loglik_q_loss ]

    i.e. ``-2 x`` (mean log q on joint pairs - mean log q on product pairs); the log
    variance terms cancel between the two.

    Args:
        x, mu, logvar: as for :func:`matched_sq_errors`.
        loglik_weight: weight of an added :func:`loglik_q_loss` (0: the paper). Any
            positive weight makes the objective bounded below.

    Returns:
        A scalar tensor.
    """
    if loglik_weight < 0:
        raise ValueError(f"loglik_weight must be >= 0, got {loglik_weight}")
    loss = -club_penalty(x, mu, logvar)
    if loglik_weight:
        loss = loss + loglik_weight * loglik_q_loss(x, mu, logvar)
    return loss


def q_loss(objective: str, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
           loglik_weight: float = 0.0) -> torch.Tensor:
    """:func:`loglik_q_loss` (``objective="loglik"``) or :func:`contrastive_q_loss`."""
    if objective == "loglik":
        return loglik_q_loss(x, mu, logvar)
    if objective == "contrastive":
        return contrastive_q_loss(x, mu, logvar, loglik_weight)
    raise ValueError(f"unknown q objective {objective!r}; known: {', '.join(Q_OBJECTIVES)}")


def gaussian_log_likelihood(x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor
                            ) -> torch.Tensor:
    """``log q(x_i | z_i)`` of every row, constants included (nats).

    Returns:
        ``(N,)``.
    """
    _check(x, mu, logvar)
    return -0.5 * (matched_sq_errors(x, mu, logvar) + logvar.sum(dim=1)
                   + x.shape[1] * torch.log(torch.tensor(2 * torch.pi, dtype=x.dtype)))


class ConditionalGaussian(nn.Module):
    """The variational network ``q(x_c | z)``: a diagonal Gaussian whose mean and log
    variance are functions of ``z`` (method.md)::

        mu      = Linear(h, x_dim)(Linear(z_dim, h)(ELU(z)))
        log var = tanh(Linear(h, x_dim)(Linear(z_dim, h)(ELU(z))))

    with ``h = 1000`` and ``x_dim = 1000`` in the paper. The variance is bounded to
    ``[e^-1, e]`` by the tanh. The encoder outputs are pooled ReLU / ReLU6 activations
    (non-negative), on which the ELU is the identity.

    Args:
        z_dim: width of the quality feature.
        x_dim: width of the content feature (the 1000 ImageNet classes).
        hidden: width of the hidden layer.
    """

    def __init__(self, z_dim: int, x_dim: int = 1000, hidden: int = 1000) -> None:
        super().__init__()
        if min(z_dim, x_dim, hidden) < 1:
            raise ValueError(f"widths must be positive, got {z_dim}, {x_dim}, {hidden}")
        self.z_dim, self.x_dim, self.hidden = int(z_dim), int(x_dim), int(hidden)
        self.mu = nn.Sequential(nn.ELU(), nn.Linear(z_dim, hidden), nn.Linear(hidden, x_dim))
        self.logvar = nn.Sequential(nn.ELU(), nn.Linear(z_dim, hidden),
                                    nn.Linear(hidden, x_dim), nn.Tanh())

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(N, z_dim) -> (mu, logvar)``, each ``(N, x_dim)``."""
        return self.mu(z), self.logvar(z)

    def log_likelihood(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """``log q(x_i | z_i)`` per row (nats), see :func:`gaussian_log_likelihood`."""
        mu, logvar = self(z)
        return gaussian_log_likelihood(x, mu, logvar)

    def extra_repr(self) -> str:
        return f"z_dim={self.z_dim}, x_dim={self.x_dim}, hidden={self.hidden}"
