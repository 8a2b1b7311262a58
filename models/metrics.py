"""How much of a known quantity a set of codes carries: fits, probes and alignments.

The sims score their codes with these (nothing here is trained by gradient): an R² of a fit on
the codes, the share of a variable's variance a category explains, the accuracy of a linear
classifier fitted in closed form, and the nearest-centre purity of labelled clusters. Each is a
plain function of tensors, checked against scikit-learn or SciPy in tests/models/test_metrics.py.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from models.contrastive import normalise


def _check_rows(name: str, x: torch.Tensor, ndim: int, n: int | None = None) -> None:
    if x.ndim != ndim or x.shape[0] < 2 or (n is not None and x.shape[0] != n):
        rows = "N >= 2" if n is None else f"N = {n}"
        raise ValueError(f"{name} must be {ndim}-D with {rows} rows, got {tuple(x.shape)}")


def cubic_fit_r2(codes: torch.Tensor, target: torch.Tensor) -> float:
    """Fraction of the variance of ``target`` (N,) explained by a least-squares cubic polynomial
    of 2-D ``codes`` (N, 2): the codes may bend the signal into a curve and still carry it all."""
    _check_rows("target", target, 1)
    _check_rows("codes", codes, 2, len(target))
    if codes.shape[1] != 2:
        raise ValueError(f"codes must be (N, 2), got {tuple(codes.shape)}")
    u, v = codes.double().T
    terms = [u**i * v**j for i in range(4) for j in range(4 - i)]  # all monomials up to degree 3
    design = torch.stack(terms, dim=1)  # (N, 10)
    coef = torch.linalg.lstsq(design, target.double().unsqueeze(1)).solution
    residual = target.double() - (design @ coef).squeeze(1)
    return float(1 - residual.var() / target.double().var())


def linear_fit_r2(features: torch.Tensor, targets: torch.Tensor) -> float:
    """Share of the total variance of ``targets`` (N, k) that a least-squares linear map of
    ``features`` (N, d) plus an intercept explains (the outputs pooled, so each weighs by its
    variance)."""
    _check_rows("features", features, 2)
    _check_rows("targets", targets, 2, len(features))
    design = torch.cat([features, torch.ones(len(features), 1)], dim=1).double()  # (N, d + 1)
    f = targets.double()
    fit = design @ torch.linalg.lstsq(design, f).solution  # (N, k)
    return float(1 - (f - fit).pow(2).sum() / (f - f.mean(0)).pow(2).sum())


def group_means(
    values: torch.Tensor, categories: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The mean of ``values`` (N,) within each category of ``categories`` (N,): the categories
    in ascending order (C,) and their means (C,)."""
    _check_rows("values", values, 1)
    _check_rows("categories", categories, 1, len(values))
    levels, index = categories.unique(return_inverse=True)  # sorted
    sums = torch.zeros(len(levels), dtype=values.dtype).index_add_(0, index, values)
    counts = torch.bincount(index, minlength=len(levels)).to(values.dtype)
    return levels, sums / counts


def correlation_ratio(values: torch.Tensor, categories: torch.Tensor) -> float:
    """Fraction of the variance of ``values`` (N,) explained by ``categories`` (N,) taken as
    labels (the correlation ratio η²): 1 when the values are *some* function of the category,
    however bent; 0 for constant values."""
    _check_rows("values", values, 1)
    _check_rows("categories", categories, 1, len(values))
    means = torch.zeros_like(values)
    for value in categories.unique():
        mask = categories == value
        means[mask] = values[mask].mean()
    total = float(((values - values.mean()) ** 2).sum())
    return float(((means - values.mean()) ** 2).sum()) / total if total > 1e-24 else 0.0


def lda_probe(
    train: torch.Tensor,
    train_labels: torch.Tensor,
    test: torch.Tensor,
    test_labels: torch.Tensor,
    shrink: float = 1e-2,
    n_classes: int | None = None,
) -> float:
    """Accuracy on ``test`` (M, d) of a linear classifier fitted in closed form on ``train``
    (N, d): linear discriminant analysis (class means, one shared covariance, shrunk towards its
    mean diagonal so that constant features do no harm). Labels are 0 .. n_classes - 1 (by
    default up to the largest label seen)."""
    _check_rows("train", train, 2)
    _check_rows("train_labels", train_labels, 1, len(train))
    if test.ndim != 2 or test.shape[1] != train.shape[1] or test_labels.shape != test.shape[:1]:
        raise ValueError(
            f"test must be (M, {train.shape[1]}) with (M,) labels, got {tuple(test.shape)} and "
            f"{tuple(test_labels.shape)}"
        )
    if shrink < 0:
        raise ValueError(f"shrink must be >= 0, got {shrink}")
    if n_classes is None:
        n_classes = int(max(train_labels.max(), test_labels.max())) + 1
    x, t = train.double(), test.double()
    onehot = F.one_hot(train_labels, n_classes).double()  # (N, C)
    counts = onehot.sum(dim=0).clamp_min(1)
    means = onehot.T @ x / counts.unsqueeze(1)  # (C, d)
    resid = x - means[train_labels]
    cov = resid.T @ resid / len(x)
    cov = cov + shrink * cov.diagonal().mean().clamp_min(1e-12) * torch.eye(len(cov)).double()
    w = torch.linalg.solve(cov, means.T)  # (d, C)
    b = -0.5 * (means * w.T).sum(dim=1) + torch.log(counts / len(x))
    return float(((t @ w + b).argmax(dim=1) == test_labels).double().mean())


def procrustes(basis: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
    """``basis`` (d, m) turned (rotated or reflected within its span) to match ``previous``
    (d, m) as closely as possible in the least-squares sense, so a drawn view does not flip
    between refreshes."""
    if basis.ndim != 2 or basis.shape != previous.shape:
        raise ValueError(
            f"basis and previous must be (d, m) of the same shape, got {tuple(basis.shape)} and "
            f"{tuple(previous.shape)}"
        )
    u, _, vh = torch.linalg.svd(basis.T @ previous)
    return basis @ (u @ vh)


def class_means(z: torch.Tensor, labels: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Mean of the rows of ``z`` (N, d) in each class of ``labels`` (N,): (n_classes, d)."""
    _check_rows("z", z, 2)
    _check_rows("labels", labels, 1, len(z))
    onehot = F.one_hot(labels, n_classes).to(z.dtype)  # (N, C)
    return onehot.T @ z / onehot.sum(dim=0).unsqueeze(1)


def cluster_purity(z: torch.Tensor, labels: torch.Tensor, n_classes: int) -> float:
    """Share of the rows of ``z`` (N, d) whose nearest class centre by cosine similarity is the
    centre of their own class (centres: the class means of ``z``)."""
    centres = class_means(z, labels, n_classes)  # (C, d)
    nearest = (z @ normalise(centres).T).argmax(dim=1)  # (N,) the closest centre's class
    return float((nearest == labels).float().mean())
