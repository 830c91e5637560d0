"""The LFSR's feedback polynomial is primitive, so every non-zero state has period 2^32 - 1."""

from sim.golden import lfsr


def gf2_matmul(a, b):
    """Matrices over GF(2) as lists of 32 column bitmasks: (a @ b) column j = a @ (b col j)."""
    def apply(m, v):
        out = 0
        for i in range(32):
            if v >> i & 1:
                out ^= m[i]
        return out
    return [apply(a, col) for col in b]


def gf2_pow(m, n):
    result = [1 << i for i in range(32)]
    while n:
        if n & 1:
            result = gf2_matmul(m, result)
        m = gf2_matmul(m, m)
        n >>= 1
    return result


def test_taps_give_maximal_period():
    step = [lfsr.step(1 << i) for i in range(32)]  # the step is linear: its columns
    identity = [1 << i for i in range(32)]
    order = (1 << 32) - 1
    assert gf2_pow(step, order) == identity
    for p in (3, 5, 17, 257, 65537):               # the prime factors of 2^32 - 1
        assert gf2_pow(step, order // p) != identity


def test_draws_are_balanced():
    _, r = lfsr.draws(1, 16, 20_000)
    assert abs(r.mean() / (1 << 16) - 0.5) < 0.01
    # 20,000 uniform draws from 2^16 values hit about 65536 * (1 - e^(-20000/65536)) = 17,240.
    assert 16_900 < len(set(r.tolist())) < 17_600


def test_block_draws_equal_one_at_a_time():
    """`draws` jumps a block at a time; it must give the sequence of single `draw` calls."""
    state, want = 0x1234_5678, []
    for _ in range(5000):
        state, r = lfsr.draw(state, 16)
        want.append(r)
    got_state, got = lfsr.draws(0x1234_5678, 16, 5000)
    assert got_state == state and list(got) == want
