"""Contrastive losses, the InfoNCE bound, and the alignment and uniformity of codes.

An anchor code is compared with one positive (another view of the same item) and k negatives
(views of other items). The losses here are the triplet margin loss, binary NCE (each candidate
classified as positive or not), and InfoNCE / the k-pair loss (a softmax over the K = k + 1
candidates; van den Oord et al., 2018), with the symmetric two-view objective of Contrastive
Multiview Coding (Tian et al., ECCV 2020). Alignment and uniformity are the two measures of
Wang & Isola (ICML 2020).

Shapes: ``anchor`` and ``positive`` (N, d), ``negatives`` (N, k, d): row i of ``negatives`` holds
the k negatives of anchor i. Scores are cosine similarities divided by a temperature ``tau``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def _check_triplets(anchor: torch.Tensor, positive: torch.Tensor, negatives: torch.Tensor) -> None:
    if anchor.ndim != 2 or positive.shape != anchor.shape:
        raise ValueError(
            f"anchor and positive must be (N, d) of the same shape, got {tuple(anchor.shape)} "
            f"and {tuple(positive.shape)}"
        )
    n, d = anchor.shape
    if negatives.ndim != 3 or negatives.shape[0] != n or negatives.shape[2] != d:
        raise ValueError(
            f"negatives must be (N, k, d) = ({n}, k, {d}), got {tuple(negatives.shape)}"
        )


def _check_pair(a: torch.Tensor, b: torch.Tensor) -> None:
    if a.ndim != 2 or a.shape != b.shape or a.shape[0] < 1:
        raise ValueError(
            f"expected two (N, d) batches of the same shape, got {tuple(a.shape)} and "
            f"{tuple(b.shape)}"
        )


def _check_tau(tau: float) -> None:
    if not tau > 0:
        raise ValueError(f"the temperature tau must be positive, got {tau}")


def normalise(z: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Each row scaled to length 1 (onto the unit sphere). z: (N, d) -> (N, d)."""
    return z / z.norm(dim=-1, keepdim=True).clamp_min(eps)


def candidate_scores(
    anchor: torch.Tensor, positive: torch.Tensor, negatives: torch.Tensor, tau: float
) -> torch.Tensor:
    """Cosine similarity over tau of each anchor with its K = k + 1 candidates, the positive in
    column 0. anchor, positive: (N, d); negatives: (N, k, d) -> (N, k + 1)."""
    _check_triplets(anchor, positive, negatives)
    _check_tau(tau)
    a = normalise(anchor)
    pos = (a * normalise(positive)).sum(dim=1, keepdim=True)  # (N, 1)
    neg = torch.einsum("nd,nkd->nk", a, normalise(negatives))  # (N, k)
    return torch.cat([pos, neg], dim=1) / tau


def triplet_margin_loss(
    anchor: torch.Tensor, positive: torch.Tensor, negatives: torch.Tensor, margin: float = 0.5
) -> torch.Tensor:
    """Mean over anchors and negatives of max(0, ||a - p||^2 - ||a - n||^2 + margin): the
    positive must be closer than each negative by at least the margin (squared distances)."""
    _check_triplets(anchor, positive, negatives)
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    d_pos = (anchor - positive).pow(2).sum(dim=1, keepdim=True)  # (N, 1)
    d_neg = (anchor.unsqueeze(1) - negatives).pow(2).sum(dim=2)  # (N, k)
    return torch.relu(d_pos - d_neg + margin).mean()


def binary_nce_loss(
    anchor: torch.Tensor, positive: torch.Tensor, negatives: torch.Tensor, tau: float = 0.1
) -> torch.Tensor:
    """Each candidate judged on its own as "the positive" or "a negative" by a logistic
    classifier on its score s = cos / tau: mean over anchors of
    -log sigmoid(s_pos) - sum_i log sigmoid(-s_neg_i)."""
    scores = candidate_scores(anchor, positive, negatives, tau)  # (N, K)
    return (-F.logsigmoid(scores[:, 0]) - F.logsigmoid(-scores[:, 1:]).sum(dim=1)).mean()


def _info_nce(scores: torch.Tensor, positive: torch.Tensor) -> torch.Tensor:
    """The one InfoNCE formula: mean over rows of logsumexp(row) - the row's positive score,
    i.e. -log softmax(row)[positive]. scores: (N, K), positive: (N,) -> ()."""
    return (torch.logsumexp(scores, dim=1) - positive).mean()


def info_nce_from_scores(scores: torch.Tensor) -> torch.Tensor:
    """InfoNCE with the positive in column 0: mean over rows of -log softmax(scores)[0].
    scores: (N, K) with K >= 1 candidates. log K when all scores are equal."""
    if scores.ndim != 2 or scores.shape[1] < 1:
        raise ValueError(f"scores must be (N, K) with K >= 1, got {tuple(scores.shape)}")
    return _info_nce(scores, scores[:, 0])


def info_nce_diagonal(scores: torch.Tensor) -> torch.Tensor:
    """InfoNCE of a batch of K pairs scored all against all, ``scores[i, j] = f(x_i, y_j)``: row
    i must pick column i, its own pair, so the positives are on the diagonal and the other
    items are the negatives. scores: (K, K) -> (); log K when all scores are equal."""
    if scores.ndim != 2 or scores.shape[0] != scores.shape[1] or scores.shape[0] < 1:
        raise ValueError(f"scores must be a square (K, K) matrix, got {tuple(scores.shape)}")
    return _info_nce(scores, scores.diagonal())


def info_nce_loss(
    anchor: torch.Tensor, positive: torch.Tensor, negatives: torch.Tensor, tau: float = 0.1
) -> torch.Tensor:
    """InfoNCE, a.k.a. the k-pair loss: pick the positive out of K = k + 1 candidates with a
    softmax over cos / tau. Between 0 and infinity; log K when all scores are equal."""
    return info_nce_from_scores(candidate_scores(anchor, positive, negatives, tau))


def batch_info_nce(z1: torch.Tensor, z2: torch.Tensor, tau: float = 0.1) -> torch.Tensor:
    """InfoNCE with view 1 as anchors and the other items' view 2 as negatives: row i of
    cos(z1, z2) / tau must pick column i. z1, z2: (N, d), so K = N candidates per anchor."""
    _check_pair(z1, z2)
    _check_tau(tau)
    return info_nce_diagonal(normalise(z1) @ normalise(z2).T / tau)  # scores (N, N)


def cmc_loss(z1: torch.Tensor, z2: torch.Tensor, tau: float = 0.1) -> torch.Tensor:
    """The symmetric two-view objective of CMC: L(V1, V2) + L(V2, V1), each view in turn the
    anchor. z1, z2: (N, d). Swapping the views leaves it unchanged."""
    return batch_info_nce(z1, z2, tau) + batch_info_nce(z2, z1, tau)


def info_nce_bound(loss: float, n_candidates: int) -> float:
    """The InfoNCE lower bound on the mutual information in nats, log K - L, for a loss L
    measured with K candidates per anchor (the positive and K - 1 negatives). It never exceeds
    log K, because L >= 0."""
    if n_candidates < 1:
        raise ValueError(f"need at least one candidate, got {n_candidates}")
    return math.log(n_candidates) - float(loss)


def alignment(z1: torch.Tensor, z2: torch.Tensor, alpha: float = 2.0) -> torch.Tensor:
    """Mean ||z1_i - z2_i||^alpha over positive pairs: 0 when both views of every item share
    one code (lower is better). Wang & Isola's L_align. z1, z2: (N, d)."""
    _check_pair(z1, z2)
    if not alpha > 0:
        raise ValueError(f"alpha must be positive, got {alpha}")
    return (z1 - z2).norm(dim=1).pow(alpha).mean()


def uniformity(z: torch.Tensor, t: float = 2.0) -> torch.Tensor:
    """log of the mean over distinct pairs of exp(-t ||z_i - z_j||^2): 0 for codes all on one
    point, more negative the more evenly they cover the sphere (lower is better). Wang & Isola's
    L_uniform. z: (N, d) with N >= 2."""
    if z.ndim != 2 or z.shape[0] < 2:
        raise ValueError(f"expected an (N, d) batch with N >= 2, got {tuple(z.shape)}")
    if not t > 0:
        raise ValueError(f"t must be positive, got {t}")
    sq = torch.pdist(z).pow(2)  # (N (N - 1) / 2,) one entry per pair i < j
    return torch.logsumexp(-t * sq, dim=0) - math.log(len(sq))


def mean_resultant_length(z: torch.Tensor) -> torch.Tensor:
    """Length of the mean of the unit vectors: 1 when every code points the same way (collapse),
    near 0 when they are spread evenly around the circle or sphere. z: (N, d)."""
    if z.ndim != 2 or z.shape[0] < 1:
        raise ValueError(f"expected an (N, d) batch, got {tuple(z.shape)}")
    return normalise(z).mean(dim=0).norm()


def uniformity_evenly_spaced(n: int, t: float = 2.0) -> float:
    """``uniformity(z, t)`` of ``n`` points evenly spaced on the unit circle, exactly: each point
    sees the others at angles 2 pi k / n, k = 1 .. n - 1, at squared distance
    2 - 2 cos(2 pi k / n), so the value is log( mean_k exp(-2t (1 - cos(2 pi k / n))) )."""
    if n < 2:
        raise ValueError(f"need n >= 2 points, got {n}")
    if not t > 0:
        raise ValueError(f"t must be positive, got {t}")
    k = torch.arange(1, n, dtype=torch.float64)
    exponents = -2 * t * (1 - torch.cos(2 * math.pi * k / n))  # (n - 1,)
    return float(torch.logsumexp(exponents, dim=0) - math.log(n - 1))


def uniformity_circle_limit(t: float = 2.0) -> float:
    """The limit of ``uniformity_evenly_spaced(n, t)`` as n grows (codes spread evenly over the
    whole circle): log( (1 / 2 pi) int exp(-2t (1 - cos theta)) dtheta ) = -2t + log I0(2t),
    with I0 the modified Bessel function; computed as log i0e(2t) = log(I0(2t) e^{-2t})."""
    if not t > 0:
        raise ValueError(f"t must be positive, got {t}")
    return float(torch.special.i0e(torch.tensor(2 * t, dtype=torch.float64)).log())
