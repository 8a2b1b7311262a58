"""The three critics of the beyond-mi-critics sim: shapes, each against a by-hand computation,
and bad sizes."""

import pytest
import torch

from models.critics import BilinearCritic
from models.mi_bounds import JointCritic, SeparableCritic, infonce


def _pairs(k=5, d=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(k, d, generator=g), torch.randn(k, d, generator=g)


@pytest.mark.parametrize(
    "make",
    [
        lambda g: BilinearCritic(3, g, heads=2),
        lambda g: SeparableCritic(3, 8, 8, g, heads=2),
        lambda g: JointCritic(3, 8, g, heads=2),
    ],
    ids=["bilinear", "separable", "joint"],
)
def test_every_critic_scores_all_pairs_of_a_batch(make):
    u, v = _pairs(k=5)
    scores = make(torch.Generator().manual_seed(1))(u, v)
    assert scores.shape == (2, 5, 5)
    assert torch.isfinite(scores).all()


def test_bilinear_critic_is_u_transpose_w_v():
    u, v = _pairs(k=6, d=4)
    critic = BilinearCritic(4, torch.Generator().manual_seed(2), heads=3)
    by_hand = torch.einsum("id,cde,je->cij", u, critic.weight, v)
    torch.testing.assert_close(critic(u, v), by_hand)
    i, j = 2, 5
    assert critic(u, v)[1, i, j].item() == pytest.approx((u[i] @ critic.weight[1] @ v[j]).item())


def test_bilinear_critic_is_seeded_and_initialised_like_a_linear_layer():
    a = BilinearCritic(9, torch.Generator().manual_seed(3))
    b = BilinearCritic(9, torch.Generator().manual_seed(3))
    torch.testing.assert_close(a.weight, b.weight)
    assert a.weight.abs().max() <= 1 / 3
    assert not torch.equal(a.weight, BilinearCritic(9, torch.Generator().manual_seed(4)).weight)


def test_joint_critic_on_all_pairs_equals_a_loop_over_pairs():
    u, v = _pairs(k=4, d=3)
    critic = JointCritic(3, 7, torch.Generator().manual_seed(5))
    w, b = critic.first.weight[0], critic.first.bias[0, 0]  # (2d, H), (H,)
    w_out, b_out = critic.out.weight[0, :, 0], critic.out.bias[0, 0, 0]  # (H,), ()
    scores = critic(u, v)[0]
    for i in range(4):
        for j in range(4):
            pair = torch.cat([u[i], v[j]])  # (2d,): the MLP reads the concatenated pair
            expected = torch.relu(pair @ w + b) @ w_out + b_out
            assert scores[i, j].item() == pytest.approx(expected.item(), abs=1e-5)


def test_separable_critic_on_all_pairs_equals_a_loop_over_pairs():
    u, v = _pairs(k=4, d=3)
    critic = SeparableCritic(3, 6, 5, torch.Generator().manual_seed(6))
    scores = critic(u, v)[0]
    for i in range(4):
        for j in range(4):
            expected = critic.g(u[i : i + 1])[0, 0] @ critic.h(v[j : j + 1])[0, 0]
            assert scores[i, j].item() == pytest.approx(expected.item(), abs=1e-5)


def test_critics_reject_bad_sizes():
    g = torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match="dim, heads >= 1"):
        BilinearCritic(0, g)
    with pytest.raises(ValueError, match="dim, heads >= 1"):
        BilinearCritic(3, g, heads=0)
    with pytest.raises(ValueError, match="positive"):
        JointCritic(3, 0, g)
    with pytest.raises(ValueError, match="positive"):
        SeparableCritic(3, 4, 0, g)
    critic = BilinearCritic(3, g)
    u, v = _pairs(k=4, d=3)
    with pytest.raises(ValueError, match=r"\(K, 3\)"):
        critic(u[:, :2], v[:, :2])  # codes of the wrong size
    with pytest.raises(ValueError, match="same shape"):
        critic(u, v[:3])
    with pytest.raises(ValueError, match="K >= 2"):
        critic(u[:1], v[:1])


def test_without_a_generator_every_score_is_equal_so_infonce_starts_at_zero():
    critic = BilinearCritic(4)
    g = torch.Generator().manual_seed(7)
    u, v = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    scores = critic(u, v)
    assert scores.shape == (1, 6, 6) and torch.equal(scores, torch.zeros(1, 6, 6))
    assert infonce(scores[0]).item() == pytest.approx(0.0, abs=1e-7)
