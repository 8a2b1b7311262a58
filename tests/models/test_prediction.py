"""The best linear-Gaussian predictor, the cosine prediction loss and the EMA update against
exact values, independent computations, invariances and bad input."""

import pytest
import torch
from torch import nn

from models.prediction import best_linear_predictor, cosine_prediction_loss, ema_update_


def random_covariance(d: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(d, d, generator=g, dtype=torch.float64)
    return a @ a.T + 0.1 * torch.eye(d, dtype=torch.float64)


def test_best_predictor_two_correlated_coordinates_exact():
    # corr 0.5, unit variances: E[x1 | x0] = 0.5 x0, error 1 - 0.5^2 = 0.75
    cov = torch.tensor([[1.0, 0.5], [0.5, 1.0]])
    weights, error = best_linear_predictor(cov, torch.tensor([0]), torch.tensor([1]))
    assert weights.shape == (1, 1)
    assert weights.item() == pytest.approx(0.5)
    assert error.tolist() == pytest.approx([0.75])


def test_best_predictor_error_matches_the_inverse_covariance():
    """Independent route: the conditional covariance of the hidden block is the inverse of the
    hidden block of the precision matrix."""
    cov = random_covariance(6)
    seen, hidden = torch.tensor([0, 2, 3]), torch.tensor([1, 4, 5])
    _, error = best_linear_predictor(cov, seen, hidden)
    precision = torch.linalg.inv(cov)
    expected = torch.linalg.inv(precision[hidden][:, hidden]).diagonal()
    torch.testing.assert_close(error, expected)


def test_best_predictor_weights_match_least_squares_on_samples():
    cov = random_covariance(5, seed=1)
    g = torch.Generator().manual_seed(2)
    x = torch.randn(200_000, 5, generator=g, dtype=torch.float64) @ torch.linalg.cholesky(cov).T
    seen, hidden = torch.tensor([0, 1, 2]), torch.tensor([3, 4])
    weights, error = best_linear_predictor(cov, seen, hidden)
    fitted = torch.linalg.lstsq(x[:, seen], x[:, hidden]).solution
    torch.testing.assert_close(weights, fitted, atol=0.03, rtol=0.03)
    residual = (x[:, seen] @ weights - x[:, hidden]).pow(2).mean(dim=0)
    torch.testing.assert_close(residual, error, atol=0.0, rtol=0.02)


def test_nothing_seen_leaves_the_full_variance():
    cov = random_covariance(4)
    weights, error = best_linear_predictor(
        cov, torch.tensor([], dtype=torch.long), torch.tensor([1, 3])
    )
    assert weights.shape == (0, 2)
    torch.testing.assert_close(error, cov.diagonal()[[1, 3]])


def test_best_predictor_rejects_bad_input():
    cov = random_covariance(3)
    with pytest.raises(ValueError, match="square"):
        best_linear_predictor(cov[:2], torch.tensor([0]), torch.tensor([1]))
    with pytest.raises(ValueError, match="both seen and hidden"):
        best_linear_predictor(cov, torch.tensor([0, 1]), torch.tensor([1]))
    with pytest.raises(ValueError, match="non-empty"):
        best_linear_predictor(cov, torch.tensor([0]), torch.tensor([], dtype=torch.long))


def test_cosine_loss_exact_values():
    p = torch.tensor([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    t = torch.tensor([[2.0, 0.0], [0.0, 3.0], [-1.0, 0.0]])
    # same direction: 0; orthogonal: 1; opposite: 2  ->  mean 1
    assert cosine_prediction_loss(p, t).item() == pytest.approx(1.0)
    assert cosine_prediction_loss(p[:1], t[:1]).item() == pytest.approx(0.0)
    assert cosine_prediction_loss(p[2:], t[2:]).item() == pytest.approx(2.0)


def test_cosine_loss_ignores_lengths_and_is_symmetric():
    g = torch.Generator().manual_seed(0)
    p, t = torch.randn(32, 4, generator=g), torch.randn(32, 4, generator=g)
    base = cosine_prediction_loss(p, t).item()
    assert cosine_prediction_loss(5 * p, 0.1 * t).item() == pytest.approx(base, rel=1e-5)
    assert cosine_prediction_loss(t, p).item() == pytest.approx(base, rel=1e-6)


def test_cosine_loss_is_zero_for_a_collapsed_pair():
    """The trap: if every prediction and every target is the same vector, the loss is 0."""
    const = torch.full((10, 3), 0.4)
    assert cosine_prediction_loss(const, 2 * const).item() == pytest.approx(0.0, abs=1e-6)


def test_cosine_loss_zero_vector_counts_as_orthogonal():
    loss = cosine_prediction_loss(torch.zeros(1, 3), torch.ones(1, 3))
    assert loss.item() == pytest.approx(1.0)


def test_cosine_loss_rejects_bad_shapes():
    with pytest.raises(ValueError, match="same shape"):
        cosine_prediction_loss(torch.zeros(4, 2), torch.zeros(4, 3))
    with pytest.raises(ValueError, match="same shape"):
        cosine_prediction_loss(torch.zeros(4), torch.zeros(4))


def two_layers(value: float) -> nn.Module:
    net = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    with torch.no_grad():
        for p in net.parameters():
            p.fill_(value)
    return net


def test_ema_update_exact_value():
    target, online = two_layers(1.0), two_layers(5.0)
    ema_update_(target, online, rate=0.75)
    for p in target.parameters():  # 0.75 * 1 + 0.25 * 5 = 2
        assert torch.all(p == 2.0)
    for p in online.parameters():  # the online network is untouched
        assert torch.all(p == 5.0)


@pytest.mark.parametrize(("rate", "expected"), [(0.0, 5.0), (1.0, 1.0)])
def test_ema_update_extremes_copy_or_keep(rate, expected):
    target, online = two_layers(1.0), two_layers(5.0)
    ema_update_(target, online, rate=rate)
    assert all(torch.all(p == expected) for p in target.parameters())


def test_ema_update_rejects_bad_input():
    with pytest.raises(ValueError, match="rate must be"):
        ema_update_(two_layers(0.0), two_layers(1.0), rate=1.5)
    with pytest.raises(ValueError, match="same parameters"):
        ema_update_(two_layers(0.0), nn.Linear(2, 3), rate=0.5)
    with pytest.raises(ValueError, match="shapes differ"):
        ema_update_(nn.Linear(2, 3), nn.Linear(3, 2), rate=0.5)
