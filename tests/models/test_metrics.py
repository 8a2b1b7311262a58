"""The sims' measures of what codes carry, against scikit-learn and SciPy, exact values and bad
input."""

import numpy as np
import pytest
import torch
from scipy.linalg import orthogonal_procrustes
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.linear_model import LinearRegression
from sklearn.metrics import r2_score
from sklearn.metrics.pairwise import cosine_similarity
from sklearn.preprocessing import OneHotEncoder, PolynomialFeatures

from models.metrics import (
    class_means,
    cluster_purity,
    correlation_ratio,
    cubic_fit_r2,
    group_means,
    lda_probe,
    linear_fit_r2,
    procrustes,
)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


# -- fits --------------------------------------------------------------------------------------


def test_cubic_fit_r2_matches_sklearn_polynomial_regression():
    g = gen(0)
    codes = torch.randn(200, 2, generator=g)
    u, v = codes.T
    target = torch.sin(2 * u) + 0.5 * u * v**2 + 0.3 * torch.randn(200, generator=g)  # (200,)
    design = PolynomialFeatures(3).fit_transform(codes.double().numpy())
    fit = LinearRegression().fit(design, target.double().numpy())
    expected = r2_score(target.double().numpy(), fit.predict(design))
    assert 0.3 < expected < 0.99  # neither trivial nor perfect
    assert cubic_fit_r2(codes, target) == pytest.approx(expected, rel=1e-9)


def test_cubic_fit_r2_is_one_on_a_cubic_and_near_zero_on_noise():
    g = gen(1)
    codes = torch.randn(100, 2, generator=g)
    u, v = codes.double().T
    assert cubic_fit_r2(codes, 2 * u**3 - u * v + 1) == pytest.approx(1.0)
    assert cubic_fit_r2(codes, torch.randn(100, generator=g)) < 0.2


def test_linear_fit_r2_matches_sklearn_variance_weighted():
    g = gen(2)
    features = torch.randn(300, 4, generator=g)
    weights = torch.randn(4, 3, generator=g)
    scale = torch.tensor([1.0, 3.0, 0.5])  # outputs of different variance: the weighting counts
    targets = (features @ weights + 5.0 + torch.randn(300, 3, generator=g)) * scale  # (300, 3)
    x, y = features.double().numpy(), targets.double().numpy()
    predicted = LinearRegression().fit(x, y).predict(x)
    expected = r2_score(y, predicted, multioutput="variance_weighted")
    assert expected != pytest.approx(r2_score(y, predicted), rel=1e-3)  # the two averages differ
    assert linear_fit_r2(features, targets) == pytest.approx(expected, rel=1e-9)


def test_correlation_ratio_equals_r2_of_a_fit_on_category_indicators():
    g = gen(3)
    categories = torch.randint(-2, 3, (400,), generator=g).double()
    values = categories**2 + 0.7 * torch.randn(400, generator=g, dtype=torch.float64)
    onehot = OneHotEncoder().fit_transform(categories.numpy()[:, None]).toarray()
    fit = LinearRegression(fit_intercept=False).fit(onehot, values.numpy())
    expected = r2_score(values.numpy(), fit.predict(onehot))
    assert 0.3 < expected < 0.99
    assert correlation_ratio(values, categories) == pytest.approx(expected, rel=1e-9)


def test_correlation_ratio_exact_values():
    d = torch.tensor([-1.0, -1.0, 0.0, 0.0, 1.0, 1.0])
    assert correlation_ratio(d**2, d) == pytest.approx(1.0)  # any function of the category: 1
    assert correlation_ratio(torch.tensor([1.0, -1.0, 1.0, -1.0, 1.0, -1.0]), d) == pytest.approx(
        0.0
    )
    # group means (0, 0, 3) against the grand mean 1: 2 * (1 + 1 + 4) = 12 of 12 + 4
    out = torch.tensor([-1.0, 1.0, 0.0, 0.0, 2.0, 4.0])
    assert correlation_ratio(out, d) == pytest.approx(12 / 16)
    assert correlation_ratio(torch.ones(6), d) == 0.0


# -- the linear probe --------------------------------------------------------------------------


def test_lda_probe_without_shrinkage_is_sklearn_lda():
    g = gen(4)
    labels = (torch.arange(600) % 7).clamp(max=4)  # unbalanced: the priors count too
    centres = 0.1 * torch.randn(5, 6, generator=g)  # close, so the classes overlap
    mix = torch.randn(6, 6, generator=g)  # a shared, correlated within-class covariance
    x = centres[labels] + torch.randn(600, 6, generator=g) @ mix
    train, test = slice(0, 400), slice(400, None)
    lda = LinearDiscriminantAnalysis(solver="lsqr").fit(x[train].numpy(), labels[train].numpy())
    expected = lda.score(x[test].numpy(), labels[test].numpy())
    assert 0.4 < expected < 0.95
    got = lda_probe(x[train], labels[train], x[test], labels[test], shrink=0.0)
    assert got == expected
    # and prediction for prediction, not only the same count of right answers
    predicted = lda.predict(x[test].numpy())
    assert lda_probe(x[train], labels[train], x[test], torch.as_tensor(predicted), 0.0) == 1.0


def test_lda_probe_separates_separable_classes_and_fails_on_noise():
    g = gen(0)
    labels = torch.arange(400) % 10
    centres = 5 * torch.randn(10, 3, generator=g)
    x = centres[labels] + 0.1 * torch.randn(400, 3, generator=g)
    assert lda_probe(x[:300], labels[:300], x[300:], labels[300:]) == 1.0
    noise = torch.randn(400, 3, generator=g)
    assert lda_probe(noise[:300], labels[:300], noise[300:], labels[300:]) < 0.25


def test_lda_probe_shrinkage_survives_a_constant_feature():
    g = gen(5)
    labels = torch.arange(200) % 4
    x = torch.cat([torch.randn(200, 3, generator=g) + labels[:, None], torch.ones(200, 1)], 1)
    assert lda_probe(x[:150], labels[:150], x[150:], labels[150:]) > 0.5  # default shrink


# -- alignment of a basis ----------------------------------------------------------------------


def test_procrustes_matches_scipy():
    g = gen(6)
    basis = torch.linalg.qr(torch.randn(8, 2, generator=g, dtype=torch.float64)).Q
    previous = torch.randn(8, 2, generator=g, dtype=torch.float64)
    rotation, _ = orthogonal_procrustes(basis.numpy(), previous.numpy())
    np.testing.assert_allclose(procrustes(basis, previous).numpy(), basis.numpy() @ rotation)


def test_procrustes_turns_a_basis_onto_the_previous_one():
    previous = torch.linalg.qr(torch.randn(8, 2, generator=gen(1))).Q
    flipped = previous @ torch.tensor([[0.0, -1.0], [-1.0, 0.0]])  # swapped and mirrored axes
    torch.testing.assert_close(procrustes(flipped, previous), previous)


# -- clusters ----------------------------------------------------------------------------------


def test_cluster_purity_matches_the_nearest_centre_by_sklearn_cosine_similarity():
    g = gen(7)
    labels = torch.arange(300) % 6
    angles = labels.float() + 0.6 * torch.randn(300, generator=g)  # overlapping arcs
    z = torch.stack([angles.cos(), angles.sin()], dim=1)  # (300, 2) on the circle
    centres = class_means(z, labels, 6)
    nearest = cosine_similarity(z.numpy(), centres.numpy()).argmax(axis=1)
    expected = float(np.mean(nearest == labels.numpy()))
    assert 0.3 < expected < 0.95
    assert cluster_purity(z, labels, 6) == pytest.approx(expected)


def test_class_means_exact_values():
    z = torch.tensor([[1.0, 0.0], [3.0, 2.0], [0.0, 5.0]])
    means = class_means(z, torch.tensor([0, 0, 1]), 2)
    torch.testing.assert_close(means, torch.tensor([[2.0, 1.0], [0.0, 5.0]]))


# -- bad input ---------------------------------------------------------------------------------


def test_bad_shapes_are_refused():
    z, y = torch.randn(10, 2), torch.randn(10)
    with pytest.raises(ValueError, match=r"codes must be \(N, 2\)"):
        cubic_fit_r2(torch.randn(10, 3), y)
    with pytest.raises(ValueError, match="codes must be 2-D with N = 10"):
        cubic_fit_r2(torch.randn(9, 2), y)
    with pytest.raises(ValueError, match="targets must be 2-D"):
        linear_fit_r2(z, y)
    with pytest.raises(ValueError, match="categories must be 1-D with N = 10"):
        correlation_ratio(y, torch.zeros(8))
    labels = torch.arange(10) % 2
    with pytest.raises(ValueError, match=r"test must be \(M, 2\)"):
        lda_probe(z, labels, torch.randn(4, 3), labels[:4])
    with pytest.raises(ValueError, match="shrink"):
        lda_probe(z, labels, z, labels, shrink=-1.0)
    with pytest.raises(ValueError, match="same shape"):
        procrustes(torch.randn(8, 2), torch.randn(8, 3))
    with pytest.raises(ValueError, match="labels must be 1-D with N = 10"):
        cluster_purity(z, labels[:5], 2)


def test_group_means_match_scipy_binned_statistic():
    from scipy.stats import binned_statistic

    g = gen(5)
    categories = torch.randint(-3, 4, (300,), generator=g).double()
    values = torch.randn(300, generator=g, dtype=torch.float64) + categories
    levels, means = group_means(values, categories)
    assert levels.tolist() == list(range(-3, 4))
    edges = np.arange(-3.5, 4.0, 1.0)
    expected = binned_statistic(categories.numpy(), values.numpy(), "mean", bins=edges).statistic
    np.testing.assert_allclose(means.numpy(), expected, rtol=1e-12)
    with pytest.raises(ValueError, match="categories"):
        group_means(values, categories[:10])
