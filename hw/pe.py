"""The reconfigurable PE: three PINT MACs, operand multiplexers and a short input window.

One accepted beat = one step of the pattern's schedule. The seven patterns (paper Fig. 6,
docs/dataflow.md) differ only in which window entry and which weight each MAC multiplies,
when a MAC starts a new sum, and which sums leave as output lanes; all are output-stationary
here, every MAC busy on every beat, no cycle spent on a skipped input or an inserted zero.
"""

from amaranth.hdl import Cat, Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .config import Configured
from .isa.modes import LANES, Phase, pe_mode_layout
from .mac import PintMac

__all__ = ["operand_shape", "pe_beat_layout", "pe_route_layout", "sum_lane_layout", "saturated",
           "pe_result_layout", "route_lanes", "Pe"]


def operand_shape(cfg):
    """What the array's operands travel as: the value a PINT code stands for
    (`hw.pint.pint_value`, t_bits signed). The C-Core decodes each code once where it is
    shared (an input for every cluster, an error for a WPU, a weight for a column) instead
    of in each MAC, which took half of a PE's LUTs."""
    return signed(cfg.pint.t_bits)


def pe_beat_layout(cfg):
    value = operand_shape(cfg)
    return data.StructLayout({
        "x": data.ArrayLayout(value, 2),       # two adjacent coordinates of the row
        "e": data.ArrayLayout(value, LANES),   # errors (WG patterns)
        "row": 1,                              # first beat of a row
        "first": 1,                            # WG: sums restart with this beat
        "last": 1,                             # WG: sums leave after this beat
    })


def pe_route_layout():
    """Which MAC sums make a pattern's output lanes (`route_lanes`): lane 0 is MAC `mac0`'s
    sum, plus MAC 2's when `add2` (FP stride 2); lane 1 MAC 1's, or MAC 2's when
    `lane1_mac2`; lane 2 MAC 2's."""
    return data.StructLayout({"mac0": range(LANES), "add2": 1, "lane1_mac2": 1})


def sum_lane_layout(cfg):
    """A sum before saturation: `value` its low acc_bits; `ovf` set when it does not fit,
    and then it saturates to the rail of `neg` (`saturated`)."""
    return data.StructLayout({"value": signed(cfg.acc_bits), "ovf": 1, "neg": 1})


def saturated(lane):
    """A `sum_lane_layout` view's saturated value: the rail of `neg` when `ovf`."""
    acc = len(lane.value)
    return Mux(lane.ovf, Cat((~lane.neg).replicate(acc - 1), lane.neg), lane.value).as_signed()


def pe_result_layout(cfg):
    """`sums`: each MAC's sum (`sum_lane_layout`: saturating it is left to the WG drain,
    which takes one PE column at a time); `route` makes the pattern's `count` output lanes
    of them. The WPU routes after summing a row's columns (all its PEs share the route),
    so no PE pays for lane multiplexers, the pair adder or the clamps."""
    return data.StructLayout({"sums": data.ArrayLayout(sum_lane_layout(cfg), LANES),
                              "route": pe_route_layout(), "count": range(LANES + 1)})


def route_lanes(sums, route):
    """The output lanes [(value, ovf)] of three MAC lanes `sums` [(value, ovf)] by `route`
    (a `pe_route_layout` view). Linear in the sums, so routing the column sums of PEs that
    share a route equals summing their routed lanes. A pair is at most three products
    (`Pe`), so its sum needs one bit more than the wider part and never clamps."""
    (v0, f0), (v1, f1), (v2, f2) = sums
    mac0 = route.mac0
    first = Mux(mac0 == 0, v0, Mux(mac0 == 1, v1, v2))
    first_ovf = Mux(mac0 == 0, f0, Mux(mac0 == 1, f1, f2))
    pair = Mux(mac0[0], v1, v0) + v2
    return [(Mux(route.add2, pair, first), ~route.add2 & first_ovf),
            (Mux(route.lane1_mac2, v2, v1), Mux(route.lane1_mac2, f2, f1)),
            (v2, f2)]


def _case(m, value, count):
    """Case `value` of 0..count-1, the last as the default so every encoding is covered."""
    return m.Case(value) if value < count - 1 else m.Default()


class Pe(Configured, wiring.Component):
    """A row in as beats on `i`, results out on `o`.

    Weights in `w` load on `w_load` into a shadow register, `w_out`, which also feeds the next
    PE down a column; `w_swap` makes the shadow the weights the MACs use. So the next tile's
    weights shift in while this tile runs, and change over between two beats.
    """

    def __init__(self, cfg):
        super().__init__(cfg, lambda cfg: {
            "mode": In(pe_mode_layout()),
            "w": In(data.ArrayLayout(operand_shape(cfg), LANES)), "w_load": In(1),
            "w_swap": In(1),
            "w_out": Out(data.ArrayLayout(operand_shape(cfg), LANES)),
            "i": In(stream.Signature(pe_beat_layout(cfg))),
            "o": Out(stream.Signature(pe_result_layout(cfg))),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self._cfg
        pint = operand_shape(cfg)
        beat = self.i.payload
        accept = self.i.valid & self.i.ready

        with m.If(self.w_load):
            m.d.sync += self.w_out.eq(self.w)
        w = Signal.like(self.w_out, name="w_active")
        with m.If(self.w_swap):
            m.d.sync += w.eq(self.w_out)

        # The input window: the previous beat's odd input and the last two errors. A row's
        # first beat sees zeros there.
        x1_prev = Signal(pint)
        e_prev = [Signal(pint, name=f"e_prev{i + 1}") for i in range(2)]
        with m.If(accept):
            m.d.sync += [
                x1_prev.eq(beat.x[1]),
                e_prev[0].eq(beat.e[0]),
                e_prev[1].eq(Mux(beat.row, 0, e_prev[0])),
            ]
        x1p = Mux(beat.row, 0, x1_prev)
        e1p = Mux(beat.row, 0, e_prev[0])
        e2p = Mux(beat.row, 0, e_prev[1])
        a_src = [beat.x[0], beat.x[1], x1p]
        b_src = [w[0], w[1], w[2], beat.e[0], beat.e[1], beat.e[2], e1p, e2p]
        X0, X1, X1P = range(3)
        W0, W1, W2, E0, E1, E2, E1P, E2P = range(8)

        # Position in the pattern: phase within its period, and beats since the row began
        # (capped at 2: enough to know a pipeline is full).
        ph, cnt = Signal(range(3)), Signal(range(3))
        ph_now = Mux(beat.row, 0, ph)
        cnt_now = Mux(beat.row, 0, cnt)

        a_sel = [Signal(range(len(a_src)), name=f"a_sel{j}") for j in range(LANES)]
        b_sel = [Signal(range(len(b_src)), name=f"b_sel{j}") for j in range(LANES)]
        first = [Signal(name=f"first{j}") for j in range(LANES)]
        period = Signal(range(4))
        emit = Signal()
        # The route (`pe_route_layout`) of the lanes a beat emits.
        lane0_mac = Signal(range(LANES))
        lane0_add2 = Signal()
        lane1_mac2 = Signal()
        count = Signal(range(LANES + 1))

        def set_mac(j, a, b, f):
            m.d.comb += [a_sel[j].eq(a), b_sel[j].eq(b), first[j].eq(f)]

        def accumulate(a_b_pairs):
            """WG patterns: each MAC sums one product per beat between first and last."""
            for j, (a, b) in enumerate(a_b_pairs):
                set_mac(j, a, b, beat.first)
            m.d.comb += [period.eq(1), emit.eq(beat.last), count.eq(3)]

        mode = self.mode
        with m.If(mode.k1 & (mode.phase == Phase.WG)):
            # 1x1 WG: x broadcast, three output channels' errors act as weights.
            accumulate([(X0, E0), (X0, E1), (X0, E2)])
        with m.Elif(mode.k1):
            # 1x1 FP/BP: x broadcast, three output channels' weights, one product each.
            for j in range(LANES):
                set_mac(j, X0, W0 + j, 1)
            m.d.comb += [period.eq(1), emit.eq(1), count.eq(3)]
        with m.Elif(mode.phase == Phase.WG):
            with m.If(mode.stride2):
                # dw[u] = sum_j e[j] x[2j+u]: even and odd inputs, the previous error.
                accumulate([(X0, E0), (X1, E0), (X0, E1P)])
            with m.Else():
                # dw[u] = sum_j e[j] x[j+u]: MAC u pairs x[n] with e[n-u].
                accumulate([(X0, E0), (X0, E1P), (X0, E2P)])
        with m.Elif(~mode.stride2):
            # 3-tap row convolution, one input per beat: MAC j starts an output every third
            # beat and takes taps 0, 1, 2 on the next beats; BP uses the kernel rotated.
            with m.Switch(ph_now):
                for p in range(3):
                    with _case(m, p, 3):
                        for j in range(LANES):
                            tap = (p - j) % 3
                            b = Mux(mode.phase == Phase.BP, W2 - tap, W0 + tap)
                            set_mac(j, X0, b, tap == 0)
                        m.d.comb += lane0_mac.eq((p + 1) % 3)
            m.d.comb += [period.eq(3), emit.eq(cnt_now == 2), count.eq(1)]
        with m.Elif(mode.phase == Phase.FP):
            # Stride 2, two inputs per beat: MACs 0/1 alternate on the even part
            # w0 x[2j] + w2 x[2j+2], MAC 2 takes the odd part w1 x[2j+1] one beat late.
            with m.Switch(ph_now):
                for p in range(2):
                    with _case(m, p, 2):
                        set_mac(p, X0, W0, 1)
                        set_mac(1 - p, X0, W2, 0)
                        set_mac(2, X1P, W1, 1)
                        m.d.comb += [lane0_mac.eq(1 - p), lane0_add2.eq(1)]
            m.d.comb += [period.eq(2), emit.eq(cnt_now != 0), count.eq(1)]
        with m.Else():
            # BP stride 2, one error per beat, two outputs per beat: even outputs
            # w0 e[n] + w2 e[n-1] alternate on MACs 0/1, odd outputs w1 e[n] on MAC 2.
            with m.Switch(ph_now):
                for p in range(2):
                    with _case(m, p, 2):
                        set_mac(p, X0, W0, cnt_now == 0)
                        set_mac(1 - p, X0, W2, 1)
                        set_mac(2, X0, W1, 1)
                        m.d.comb += [lane0_mac.eq(p), lane1_mac2.eq(1)]
            m.d.comb += [period.eq(2), emit.eq(1), count.eq(2)]

        with m.If(accept):
            m.d.sync += [
                ph.eq(Mux(ph_now + 1 == period, 0, ph_now + 1)),
                cnt.eq(Mux(cnt_now == 2, 2, cnt_now + 1)),
            ]

        macs = []
        for j in range(LANES):
            m.submodules[f"mac{j}"] = mac = PintMac(cfg, decoded=True)
            a, b = Signal(pint, name=f"a{j}"), Signal(pint, name=f"b{j}")
            with m.Switch(a_sel[j]):
                for k, src in enumerate(a_src):
                    with _case(m, k, len(a_src)):
                        m.d.comb += a.eq(src)
            with m.Switch(b_sel[j]):
                for k, src in enumerate(b_src):
                    with _case(m, k, len(b_src)):
                        m.d.comb += b.eq(src)
            m.d.comb += [mac.a.eq(a), mac.b.eq(b), mac.en.eq(accept), mac.first.eq(first[j])]
            macs.append(mac)

        # Emission: a beat that completes results leaves them in the MACs' sums; the output
        # register takes them at the next edge it is free, which may be the edge of the
        # next beat (the sums are read before that beat overwrites them). A beat waits while
        # results are pending and the output register is full.
        pending = Signal()
        pend_route = Signal(pe_route_layout())
        pend_count = Signal(range(LANES + 1))
        out_free = ~self.o.valid | self.o.ready
        capture = pending & out_free
        m.d.comb += self.i.ready.eq(~pending | out_free)

        with m.If(capture):
            for k, (value, ovf, neg) in enumerate(self._sums(m, macs)):
                m.d.sync += [self.o.payload.sums[k].value.eq(value),
                             self.o.payload.sums[k].ovf.eq(ovf),
                             self.o.payload.sums[k].neg.eq(neg)]
            m.d.sync += [self.o.payload.route.eq(pend_route),
                         self.o.payload.count.eq(pend_count), self.o.valid.eq(1)]
        with m.Elif(self.o.ready):
            m.d.sync += self.o.valid.eq(0)

        with m.If(accept & emit):
            m.d.sync += [pending.eq(1), pend_route.mac0.eq(lane0_mac),
                         pend_route.add2.eq(lane0_add2), pend_route.lane1_mac2.eq(lane1_mac2),
                         pend_count.eq(count)]
        with m.Elif(capture):
            m.d.sync += pending.eq(0)
        return m

    def _sums(self, m, macs):
        """Each MAC's sum as (low acc_bits, ovf, neg) (`sum_lane_layout`). Only WG sums can
        overflow: an FP or BP sum is at most three products (every emitted sum began with
        `first` within its row; the FP stride-2 pair, MAC 0 or 1 with MAC 2, too), and
        acc_bits holds three (`EtaConfig`)."""
        acc = self._cfg.acc_bits
        out = []
        for k, mac in enumerate(macs):
            total = mac.sum
            over = Signal(name=f"over{k}")
            m.d.comb += over.eq(total[acc - 1:] != total[-1].replicate(len(total) - acc + 1))
            out.append((total[:acc], over, total[-1]))
        return out
