"""MI bounds against exact values, a critic that knows the true density ratio, and bad input."""

import math

import pytest
import torch

from models.contrastive import info_nce_diagonal
from models.mi_bounds import (
    JointCritic,
    SeparableCritic,
    StackedLinear,
    correlated_gaussian_mi,
    dv,
    gaussian_log_ratio,
    infonce,
    js_fgan,
    log_mean_exp_off_diagonal,
    nwj,
    rho_for_mi,
    sample_gaussian_pairs,
    smile,
    smile_value,
)

BOUNDS = [nwj, dv, infonce, lambda s: smile_value(s, 5.0)]


def optimal_scores(mi, dim, k, batches, seed=0):
    """``batches`` score matrices of the optimal critic log p(y|x) / p(y): (batches, K, K)."""
    g = torch.Generator().manual_seed(seed)
    rho = rho_for_mi(mi, dim)
    out = []
    for _ in range(batches):
        x, y = sample_gaussian_pairs(k, dim, rho, g)
        out.append(gaussian_log_ratio(x.double(), y.double(), rho))
    return torch.stack(out)


def mean_and_error(values):
    values = torch.as_tensor(values, dtype=torch.float64)
    return values.mean().item(), values.std().item() / math.sqrt(len(values))


# -- exact values ------------------------------------------------------------------------------


def test_exact_values_on_a_two_by_two_matrix():
    s = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
    # the diagonal averages 1.5; both off-diagonal scores are 0, so mean e^f = 1
    assert nwj(s).item() == pytest.approx(1.5 - math.exp(-1))
    assert dv(s).item() == pytest.approx(1.5)
    loss = ((math.log(math.e + 1) - 1) + (math.log(1 + math.e**2) - 2)) / 2
    assert info_nce_diagonal(s).item() == pytest.approx(loss)
    assert infonce(s).item() == pytest.approx(math.log(2) - loss)


def test_smile_clips_only_the_marginal_term():
    s = torch.tensor([[1.0, 3.0], [-3.0, 2.0]], dtype=torch.float64)
    # off-diagonal {3, -3}: log mean e^f = log cosh 3; clipped to {0.5, -0.5}: log cosh 0.5
    assert dv(s).item() == pytest.approx(1.5 - math.log(math.cosh(3.0)))
    assert smile_value(s, 0.5).item() == pytest.approx(1.5 - math.log(math.cosh(0.5)))
    assert smile_value(s, 3.0).item() == pytest.approx(dv(s).item())


def test_js_fgan_exact_value():
    s = torch.tensor([[1.0, 3.0], [-3.0, 2.0]], dtype=torch.float64)

    def softplus(v):
        return math.log1p(math.exp(v))

    expected = -(softplus(-1.0) + softplus(-2.0)) / 2 - (softplus(3.0) + softplus(-3.0)) / 2
    assert js_fgan(s).item() == pytest.approx(expected)


def test_log_mean_exp_skips_the_diagonal():
    s = torch.tensor([[100.0, 1.0, 2.0], [3.0, 100.0, 4.0], [5.0, 6.0, 100.0]])
    expected = math.log(sum(math.exp(v) for v in range(1, 7)) / 6)
    assert log_mean_exp_off_diagonal(s).item() == pytest.approx(expected, rel=1e-6)


# -- limits and invariances --------------------------------------------------------------------


@pytest.mark.parametrize("k", [2, 7, 64])
@pytest.mark.parametrize("c", [0.0, -3.0, 12.5])
def test_uniform_scores_give_infonce_zero_and_loss_log_k(k, c):
    s = torch.full((k, k), c, dtype=torch.float64)
    assert infonce(s).item() == pytest.approx(0.0, abs=1e-12)
    assert info_nce_diagonal(s).item() == pytest.approx(math.log(k))


def test_infonce_never_passes_log_k_and_reaches_it_on_separated_scores():
    g = torch.Generator().manual_seed(0)
    for k in (4, 16, 64):
        for scale in (1.0, 30.0, 1000.0):
            s = scale * torch.randn(k, k, generator=g)
            assert infonce(s).item() <= math.log(k) + 1e-6
        separated = 50.0 * torch.eye(k, dtype=torch.float64)
        assert infonce(separated).item() == pytest.approx(math.log(k), abs=1e-12)


def test_dv_is_never_below_nwj_and_equal_when_mean_exp_is_e():
    g = torch.Generator().manual_seed(1)
    for _ in range(50):
        s = 3 * torch.randn(8, 8, generator=g, dtype=torch.float64)
        assert dv(s).item() >= nwj(s).item() - 1e-12
    ones = torch.ones(5, 5, dtype=torch.float64) + torch.diag(torch.arange(5.0).double())
    # off-diagonal all 1: log mean e^f = 1 = e^{-1} mean e^f, the one point where they touch
    assert dv(ones).item() == pytest.approx(nwj(ones).item())


def test_shifts_dv_and_infonce_ignore_and_nwj_does_not():
    g = torch.Generator().manual_seed(2)
    s = torch.randn(6, 6, generator=g, dtype=torch.float64)
    row_shift = torch.randn(6, 1, generator=g, dtype=torch.float64)
    assert dv(s + 4.0).item() == pytest.approx(dv(s).item())
    assert infonce(s + row_shift).item() == pytest.approx(infonce(s).item())
    # NWJ(f + c) = NWJ(f) + c - (e^c - 1) e^{-1} mean e^f: it prefers one particular offset
    m = torch.exp(log_mean_exp_off_diagonal(s)).item()
    assert nwj(s + 1.0).item() == pytest.approx(nwj(s).item() + 1.0 - (math.e - 1) * m / math.e)


@pytest.mark.parametrize("bound", BOUNDS)
def test_relabelling_the_pairs_changes_nothing(bound):
    g = torch.Generator().manual_seed(3)
    s = torch.randn(7, 7, generator=g, dtype=torch.float64)
    p = torch.randperm(7, generator=g)
    assert bound(s[p][:, p]).item() == pytest.approx(bound(s).item())


# -- the Gaussian with a known answer ------------------------------------------------------------


def test_mi_and_rho_invert_each_other():
    for dim in (1, 5, 20):
        for mi in (0.0, 0.5, 2.0, 10.0):
            # rho^2 = 1 - e^{-20} at 10 nats in 1-D: squaring a float near 1 keeps ~8 digits
            assert correlated_gaussian_mi(rho_for_mi(mi, dim), dim) == pytest.approx(
                mi, rel=1e-7, abs=1e-12
            )
    assert correlated_gaussian_mi(0.0, 3) == 0.0
    assert correlated_gaussian_mi(math.sqrt(1 - math.exp(-2)), 1) == pytest.approx(1.0)


def test_samples_have_the_promised_correlation():
    g = torch.Generator().manual_seed(4)
    x, y = sample_gaussian_pairs(20000, 3, 0.6, g)
    assert y.var(dim=0).tolist() == pytest.approx([1.0] * 3, abs=0.05)
    corr = ((x - x.mean(0)) * (y - y.mean(0))).mean(0) / (x.std(0) * y.std(0))
    assert corr.tolist() == pytest.approx([0.6] * 3, abs=0.02)


def test_optimal_critic_matches_the_two_gaussian_densities():
    g = torch.Generator().manual_seed(5)
    rho, d = 0.8, 3
    x, y = sample_gaussian_pairs(5, d, rho, g)
    x, y = x.double(), y.double()
    cond_sd = math.sqrt(1 - rho**2)
    expected = torch.empty(5, 5, dtype=torch.float64)
    for i in range(5):
        for j in range(5):
            log_cond = torch.distributions.Normal(rho * x[i], cond_sd).log_prob(y[j]).sum()
            log_marg = torch.distributions.Normal(0.0, 1.0).log_prob(y[j]).sum()
            expected[i, j] = log_cond - log_marg
    torch.testing.assert_close(gaussian_log_ratio(x, y, rho), expected)


def test_optimal_critic_averages_to_the_true_mi_on_positives():
    s = optimal_scores(mi=3.0, dim=4, k=64, batches=100)
    mean, err = mean_and_error(s.diagonal(dim1=1, dim2=2).flatten())
    assert abs(mean - 3.0) < 4 * err


def test_nwj_with_one_plus_the_log_ratio_is_unbiased():
    mi = 1.0
    s = optimal_scores(mi=mi, dim=2, k=32, batches=400)
    mean, err = mean_and_error([nwj(b + 1.0).item() for b in s])
    assert abs(mean - mi) < 4 * err
    assert err < 0.02
    # without the +1 it pays exactly e^{-1} on average: E_q[p/q] = 1
    mean, err = mean_and_error([nwj(b).item() for b in s])
    assert abs(mean - (mi - math.exp(-1))) < 4 * err


def test_infonce_with_the_optimal_critic_approaches_a_small_mi():
    mi = 0.5  # far below log 256 = 5.5
    values = [infonce(b).item() for b in optimal_scores(mi=mi, dim=2, k=256, batches=40)]
    mean, _ = mean_and_error(values)
    assert mean == pytest.approx(mi, abs=0.05)


def test_infonce_with_the_optimal_critic_is_capped_at_a_large_mi():
    k = 16
    values = [infonce(b).item() for b in optimal_scores(mi=10.0, dim=20, k=k, batches=50)]
    assert max(values) <= math.log(k) + 1e-12
    mean, _ = mean_and_error(values)
    assert math.log(k) - 0.1 < mean < 10.0 - 5  # pinned under log K, nowhere near the truth


def test_dv_batch_estimate_overshoots_a_large_mi_even_with_the_optimal_critic():
    """The log of a noisy batch mean is biased low, so DV's batch value is biased high."""
    values = [dv(b).item() for b in optimal_scores(mi=10.0, dim=20, k=64, batches=100)]
    mean, err = mean_and_error(values)
    assert mean - 4 * err > 10.0


def test_smile_value_is_dv_for_a_wide_clip_and_bounded_for_a_narrow_one():
    s = optimal_scores(mi=6.0, dim=10, k=32, batches=1)[0]
    wide = s.abs().max().item() + 1
    assert smile_value(s, wide).item() == pytest.approx(dv(s).item())
    for tau in (0.5, 2.0, 5.0):
        # every clipped e^f is at least e^{-tau}, so the marginal term is at least -tau
        assert smile_value(s, tau).item() <= s.diagonal().mean().item() + tau + 1e-9


def test_smile_reports_its_value_but_trains_through_js():
    g = torch.Generator().manual_seed(6)
    s = (3 * torch.randn(6, 6, generator=g, dtype=torch.float64)).requires_grad_()
    value = smile(s, 1.0)
    assert value.item() == pytest.approx(smile_value(s, 1.0).item())
    (grad_smile,) = torch.autograd.grad(value, s)
    (grad_js,) = torch.autograd.grad(js_fgan(s), s)
    torch.testing.assert_close(grad_smile, grad_js)


# -- critics -------------------------------------------------------------------------------------


def test_separable_critic_is_a_dot_product_of_two_embeddings():
    g = torch.Generator().manual_seed(7)
    critic = SeparableCritic(dim=3, hidden=8, embed=4, generator=g, heads=2)
    x, y = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)
    scores = critic(x, y)
    assert scores.shape == (2, 5, 5)
    for c in range(2):
        for i in range(5):
            for j in range(5):
                gx = critic.g(x[i : i + 1])[c, 0]
                hy = critic.h(y[j : j + 1])[c, 0]
                assert scores[c, i, j].item() == pytest.approx((gx @ hy).item(), abs=1e-5)


def test_joint_critic_reads_the_concatenated_pair():
    g = torch.Generator().manual_seed(8)
    critic = JointCritic(dim=3, hidden=6, generator=g, heads=2)
    x, y = torch.randn(4, 3, generator=g), torch.randn(4, 3, generator=g)
    scores = critic(x, y)
    assert scores.shape == (2, 4, 4)
    w1, b1 = critic.first.weight, critic.first.bias  # (2, 6, H), (2, 1, H)
    w2, b2 = critic.out.weight, critic.out.bias  # (2, H, 1), (2, 1, 1)
    for c in range(2):
        for i in range(4):
            for j in range(4):
                pair = torch.cat([x[i], y[j]])  # (2d,)
                expected = torch.relu(pair @ w1[c] + b1[c, 0]) @ w2[c, :, 0] + b2[c, 0, 0]
                assert scores[c, i, j].item() == pytest.approx(expected.item(), abs=1e-5)


@pytest.mark.parametrize(
    "make",
    [
        lambda g: SeparableCritic(dim=3, hidden=8, embed=4, generator=g, heads=3),
        lambda g: JointCritic(dim=3, hidden=8, generator=g, heads=3),
    ],
)
def test_critic_heads_are_independent_and_seeded(make):
    critic = make(torch.Generator().manual_seed(9))
    twin = make(torch.Generator().manual_seed(9))
    for a, b in zip(critic.parameters(), twin.parameters(), strict=True):
        assert torch.equal(a, b)
    g = torch.Generator().manual_seed(10)
    x, y = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)
    critic(x, y)[1].sum().backward()  # only head 1's score matrix
    for p in critic.parameters():
        assert p.grad[1].abs().sum() > 0
        assert p.grad[0].abs().sum() == 0 and p.grad[2].abs().sum() == 0


def test_stacked_linear_matches_separate_layers():
    g = torch.Generator().manual_seed(11)
    layer = StackedLinear(heads=3, n_in=4, n_out=2, generator=g)
    x = torch.randn(5, 4, generator=g)
    out = layer(x)
    for c in range(3):
        torch.testing.assert_close(out[c], x @ layer.weight[c] + layer.bias[c])


# -- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize("bound", [nwj, dv, infonce, js_fgan, lambda s: smile(s, 1.0)])
@pytest.mark.parametrize("shape", [(3, 4), (4,), (1, 1), (2, 2, 2)])
def test_bounds_reject_scores_that_are_not_square(bound, shape):
    with pytest.raises(ValueError, match="square"):
        bound(torch.zeros(shape))


@pytest.mark.parametrize("shape", [(3, 4), (4,), (2, 2, 2)])
def test_the_diagonal_infonce_loss_rejects_scores_that_are_not_square(shape):
    with pytest.raises(ValueError, match="square"):
        info_nce_diagonal(torch.zeros(shape))


@pytest.mark.parametrize("tau", [0.0, -1.0])
def test_smile_rejects_a_non_positive_clip(tau):
    with pytest.raises(ValueError, match="tau must be positive"):
        smile(torch.zeros(3, 3), tau)


def test_gaussian_helpers_reject_bad_values():
    with pytest.raises(ValueError, match="rho"):
        correlated_gaussian_mi(1.0, 2)
    with pytest.raises(ValueError, match="rho"):
        sample_gaussian_pairs(4, 2, -1.5, torch.Generator())
    with pytest.raises(ValueError, match="mi >= 0"):
        rho_for_mi(-0.1, 2)
    with pytest.raises(ValueError, match="same shape"):
        gaussian_log_ratio(torch.zeros(3, 2), torch.zeros(3, 4), 0.5)


def test_critics_reject_bad_sizes_and_batches():
    g = torch.Generator()
    with pytest.raises(ValueError, match="positive"):
        SeparableCritic(dim=3, hidden=0, embed=4, generator=g)
    with pytest.raises(ValueError, match="positive"):
        JointCritic(dim=3, hidden=4, generator=g, heads=0)
    critic = SeparableCritic(dim=3, hidden=4, embed=2, generator=g)
    with pytest.raises(ValueError, match="same shape"):
        critic(torch.zeros(5, 3), torch.zeros(4, 3))
