"""cocotb: the PE in each of its patterns, rows of random codes and lengths, random stalls,
against the row functions of the golden model."""

import cocotb
import numpy as np
from cocotb.triggers import FallingEdge, RisingEdge

from hw.isa.modes import pe_mode_layout
from hw.pe import pe_beat_layout, pe_result_layout
from sim.golden import conv, pe, pint
from sim.tb.common import (STALLS, StreamPort, config, decoded, decoded_beat, pack, rngs,
                           run_stream, start, unpack)


def random_codes(rng, fmt, n):
    return rng.integers(0, 1 << fmt.k, n)


def make_job(rng, mode, fmt, rows, lengths=None, codes=None):
    """Beats and expected transfers for `rows` rows in one pattern (WG: one accumulation).
    lengths: (lo, hi) of a padded row's length; codes(kind, shape): the codes of "x", "w"
    or "e" (random by default)."""
    ph, s, k = mode
    lo, hi = lengths or (k + 1, 40)
    if codes is None:
        codes = lambda kind, shape: rng.integers(0, 1 << fmt.k, shape)
    w = codes("w", 3)
    tw = pint.decode(w, fmt)
    beats, want = [], []
    wg_sum = None
    for r in range(rows):
        n = int(rng.integers(lo, hi))                      # padded row length
        x = codes("x", n)
        tx = pint.decode(x, fmt)
        first, last = r == 0, r == rows - 1
        if ph == pe.Phase.WG:
            n_out = conv.out_size(n, k, s, 0)
            e = codes("e", n_out) if k == 3 else codes("e", (3, n))
            te = pint.decode(e, fmt)
            beats += pe.beats_for(mode, x, e.tolist(), first, last)
            got = np.array(pe.expected_for(mode, tx, t_e=te)[0])
            wg_sum = got if wg_sum is None else wg_sum + got
        else:
            bp_pad = int(rng.integers(0, 3)) if (ph, s) == (pe.Phase.BP, 1) else None
            beats += pe.beats_for(mode, x, bp_pad=bp_pad)
            want += pe.expected_for(mode, tx, tw, bp_pad=bp_pad)
    if wg_sum is not None:
        want.append(list(wg_sum))
    return w, beats, want


async def run_mode(dut, mode, idle, backpressure, salt, jobs=None):
    """jobs(rng, cfg): the jobs to run (4 random ones by default)."""
    cfg = config()
    rnd, rng = rngs(salt)
    await start(dut)
    dut.mode.value = pack(pe_mode_layout(), {"phase": int(mode.phase),
                                              "stride2": int(mode.stride == 2),
                                              "k1": int(mode.k == 1)})
    beat_layout, result_layout = pe_beat_layout(cfg), pe_result_layout(cfg)
    if jobs is None:
        jobs = lambda rng, cfg: [make_job(rng, mode, cfg.pint, int(rng.integers(1, 4)))
                                 for _ in range(4)]
    for job, (w, beats, want) in enumerate(jobs(rng, cfg)):
        await FallingEdge(dut.clk)
        dut.w.value = pack(beat_layout["e"].shape, decoded(w, cfg.pint))
        dut.w_load.value = 1
        await RisingEdge(dut.clk)
        await FallingEdge(dut.clk)
        dut.w_load.value = 0
        dut.w_swap.value = 1
        await RisingEdge(dut.clk)
        await FallingEdge(dut.clk)
        dut.w_swap.value = 0
        # Other weights shifting into the shadow must not reach the MACs before a swap.
        dut.w.value = pack(beat_layout["e"].shape, decoded(rng.integers(0, 256, 3), cfg.pint))
        dut.w_load.value = 1
        await RisingEdge(dut.clk)
        await FallingEdge(dut.clk)
        dut.w_load.value = 0
        got = await run_stream(dut, StreamPort(dut, "i"), StreamPort(dut, "o"),
                               [pack(beat_layout, decoded_beat(b, cfg.pint)) for b in beats],
                               len(want), idle,
                               backpressure, rnd)
        lim = 1 << (cfg.acc_bits - 1)
        for t, (bits, exp) in enumerate(zip(got, want)):
            res = unpack(result_layout, bits)
            assert res["count"] == len(exp), f"{mode} job {job} transfer {t}: count"
            lanes = routed(res, lim)
            for lane, value in enumerate(exp):
                sat = min(max(value, -lim), lim - 1)
                assert lanes[lane] == (sat, int(sat != value)), \
                    f"{mode} job {job} transfer {t} lane {lane}: {lanes[lane]} != {value} " \
                    f"({res})"


def routed(res, lim):
    """A PE result's output lanes [(value, ovf)]: its MAC sums, saturated (a sum that does
    not fit is the rail -lim or lim - 1 its `neg` names), as its route says
    (`hw.pe.pe_route_layout`: lane 0 MAC mac0's, plus MAC 2's if add2; lane 1 MAC 1's or
    MAC 2's; lane 2 MAC 2's)."""
    rail = lambda lane: -lim if lane["neg"] else lim - 1
    sums = [(rail(lane) if lane["ovf"] else lane["value"], lane["ovf"]) for lane in res["sums"]]
    route = res["route"]
    first = sums[route["mac0"]]
    if route["add2"]:
        first = (first[0] + sums[2][0], first[1] | sums[2][1])
    return [first, sums[2] if route["lane1_mac2"] else sums[1], sums[2]]


@cocotb.test()
@cocotb.parametrize(mode=pe.MODES, stalls=[("none", "none"), ("random", "random"),
                                           ("regular", "random")])
async def pe_pattern(dut, mode, stalls):
    await run_mode(dut, mode, *stalls, salt=pe.MODES.index(mode) * 7 + STALLS.index(stalls[0]))


@cocotb.test()
@cocotb.parametrize(mode=[m for m in pe.MODES if m.phase == pe.Phase.WG], sign=[1, -1],
                    stalls=[("none", "none"), ("random", "random")])
async def pe_wg_clamps(dut, mode, sign, stalls):
    """WG sums far past acc_bits (codes of the largest magnitude, products of one sign, long
    rows): every lane clamps to its rail with its flag; then a random job, unclamped."""
    def jobs(rng, cfg):
        t = pint.decode(np.arange(1 << cfg.pint.k), cfg.pint)
        big, small = int(np.argmax(t)), int(np.argmin(t))
        pick = lambda kind, shape: np.full(shape, small if kind == "e" and sign < 0 else big)
        return [make_job(rng, mode, cfg.pint, 3, lengths=(100, 120), codes=pick),
                make_job(rng, mode, cfg.pint, 2)]
    await run_mode(dut, mode, *stalls, salt=100 + pe.MODES.index(mode) * 4 + (sign < 0) * 2
                   + STALLS.index(stalls[0]), jobs=jobs)

