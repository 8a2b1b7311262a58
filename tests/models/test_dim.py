"""Local-global infomax: shapes, the NCE losses against hand-written loops, log K at equal
scores, the soft clip, the penalty, and finite gradients."""

import math

import pytest
import torch

from models import dim


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_encoder_and_heads_give_the_documented_shapes():
    g = _gen()
    enc = dim.LocalGlobalEncoder(g, global_dim=12)
    early, local, glob = enc(torch.rand(5, 1, 8, 8, generator=g))
    assert early.shape == (5, 16, 6, 6) and local.shape == (5, 32, 4, 4) and glob.shape == (5, 12)
    assert dim.LocalHead(32, 7, g)(local).shape == (5, 16, 7)
    assert dim.GlobalHead(12, 7, g)(glob).shape == (5, 7)
    with pytest.raises(ValueError, match="N, 1, 8, 8"):
        enc(torch.rand(5, 64))


def test_same_generator_same_weights():
    a, b = dim.LocalGlobalEncoder(_gen(3)), dim.LocalGlobalEncoder(_gen(3))
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)


def test_init_conv_matches_the_default_bound():
    conv = dim.init_conv_(torch.nn.Conv2d(4, 6, 3), _gen())
    assert conv.weight.abs().max() <= 1 / math.sqrt(4 * 9)
    assert conv.weight.std() > 0.5 / math.sqrt(3) / math.sqrt(36)  # uniform, not all zero


def test_global_local_nce_equals_a_hand_written_loop():
    g = _gen(1)
    n, p, d = 3, 4, 5
    scores = dim.global_local_scores(
        torch.randn(n, d, generator=g), torch.randn(n, p, d, generator=g)
    )
    total = 0.0
    for i in range(n):
        for q in range(p):
            pos = scores[i, i, q]
            cands = [pos] + [scores[i, j, r] for j in range(n) if j != i for r in range(p)]
            assert len(cands) == dim.n_candidates(n, p)
            total += -(pos - torch.logsumexp(torch.stack(cands), 0))
    assert dim.global_local_nce(scores).item() == pytest.approx(total.item() / (n * p), rel=1e-5)


def test_local_local_nce_equals_a_hand_written_loop():
    g = _gen(2)
    n, p, d = 3, 2, 4
    a, b = torch.randn(n, p, d, generator=g), torch.randn(n, p, d, generator=g)
    scores = dim.local_local_scores(a, b)
    total = 0.0
    for i in range(n):
        for q in range(p):
            pos = a[i, q] @ b[i, q]
            negs = [a[i, q] @ b[j, r] for j in range(n) if j != i for r in range(p)]
            total += -(pos - torch.logsumexp(torch.stack([pos, *negs]), 0))
    assert dim.local_local_nce(scores).item() == pytest.approx(total.item() / (n * p), rel=1e-5)


@pytest.mark.parametrize(("n", "p"), [(2, 1), (4, 16), (8, 36)])
def test_equal_scores_cost_exactly_log_k(n, p):
    k = dim.n_candidates(n, p)
    assert dim.global_local_nce(torch.full((n, n, p), 3.0)).item() == pytest.approx(math.log(k))
    ll = torch.full((n, p, n, p), -2.0)
    assert dim.local_local_nce(ll).item() == pytest.approx(math.log(k))


def test_positives_and_negatives_split_the_scores():
    scores = torch.arange(2 * 2 * 3, dtype=torch.float32).view(2, 2, 3)
    assert dim.positives(scores).tolist() == [[0, 1, 2], [9, 10, 11]]
    assert sorted(dim.negatives(scores).tolist()) == [3, 4, 5, 6, 7, 8]


def test_soft_clip_is_the_identity_near_zero_and_bounded_by_c():
    s = torch.tensor([-1e-3, 0.0, 1e-3])
    torch.testing.assert_close(dim.soft_clip(s, 20.0), s, rtol=1e-6, atol=1e-9)
    big = torch.tensor([-1e6, -50.0, 50.0, 1e6])
    out = dim.soft_clip(big, 5.0)
    assert out.abs().max() <= 5.0 and out[-1] == pytest.approx(5.0)
    with pytest.raises(ValueError, match="positive"):
        dim.soft_clip(s, 0.0)


def test_penalty_is_the_mean_square():
    assert dim.score_penalty(torch.tensor([1.0, -2.0, 3.0, 0.0])).item() == pytest.approx(3.5)


def test_losses_reject_bad_shapes():
    with pytest.raises(ValueError, match="N >= 2"):
        dim.global_local_nce(torch.zeros(1, 1, 4))
    with pytest.raises(ValueError, match="N, P, N, P"):
        dim.local_local_nce(torch.zeros(2, 3, 2, 4))
    with pytest.raises(ValueError, match="g \\(N, D\\)"):
        dim.global_local_scores(torch.zeros(2, 3), torch.zeros(2, 4, 5))


def test_gradients_are_finite_even_for_huge_scores():
    g = _gen(4)
    enc = dim.LocalGlobalEncoder(g)
    gh, lh = dim.GlobalHead(64, 8, g), dim.LocalHead(32, 8, g)
    _, local, glob = enc(torch.rand(4, 1, 8, 8, generator=g))
    raw = dim.global_local_scores(gh(glob), lh(local)) * 1e4  # scores of order 1e4
    loss = dim.global_local_nce(dim.soft_clip(raw, 20.0)) + 0.04 * dim.score_penalty(raw)
    loss = loss + dim.global_local_nce(raw)
    loss.backward()
    for prm in [*enc.parameters(), *gh.parameters(), *lh.parameters()]:
        assert torch.isfinite(prm.grad).all()
