"""WPU: pe_rows x pe_cols PEs in lockstep, weights shifting down the columns, and the row
accumulator that merges their results.

Columns are input channels, rows are kernel rows (3x3) or feature-map rows (1x1). The row
accumulator either sums each PE row across its columns and merges rows into output groups
(FP and BP), or passes every PE's sums through (WG, where each PE owns kernel entries).
"""

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .config import Configured
from .lockstep import all_of, any_of, fan_out
from .reuse import Reused
from .mac import saturate
from .isa.modes import LANES, Phase, pe_mode_layout
from .pe import Pe, operand_shape, route_lanes, sum_lane_layout

__all__ = ["wpu_beat_layout", "wpu_result_layout", "Wpu", "row_groups"]


def row_groups(mode):
    """Output group of each PE row, as Python data: which rows merge (3x3 FP/BP), or None
    for WG (no merging). 3x3 FP, BP stride 1: all rows form one output row. BP stride 2:
    rows 0 and 2 make the even output row, row 1 the odd one. 1x1: each row its own."""
    phase, stride2, k1 = mode
    if phase == Phase.WG:
        return None
    if k1:
        return (0, 1, 2)
    if phase == Phase.BP and stride2:
        return (0, 1, 0)
    return (0, 0, 0)


def wpu_beat_layout(cfg):
    value = operand_shape(cfg)
    grid = lambda shape: data.ArrayLayout(data.ArrayLayout(shape, cfg.pe_cols), cfg.pe_rows)
    return data.StructLayout({
        "x": grid(data.ArrayLayout(value, 2)),
        "e": grid(data.ArrayLayout(value, LANES)),
        "row": 1, "first": 1, "last": 1,
    })


def wpu_result_layout(cfg):
    """One cell per PE position, `count` output lanes each (`sum_lane_layout`: the value is
    `saturated(lane)`); merged results sit in column 0 of their group's row (the other
    columns then hold unspecified values), WG cells hold their PE's three MAC sums."""
    cell = data.StructLayout({"lanes": data.ArrayLayout(sum_lane_layout(cfg), LANES),
                              "count": range(LANES + 1)})
    return data.ArrayLayout(data.ArrayLayout(cell, cfg.pe_cols), cfg.pe_rows)


class Wpu(Configured, wiring.Component):
    """Beats in on `i` (one per PE, shared flags), results out on `o`.

    `w` (three codes per column) enters the top row on `w_load`, each load pushing the
    rows below down by one: load the bottom row's weights first. They are a shadow copy until
    `w_swap` (see `Pe`).
    """

    def __init__(self, cfg):
        super().__init__(cfg, lambda cfg: {
            "mode": In(pe_mode_layout()),
            "w": In(data.ArrayLayout(data.ArrayLayout(operand_shape(cfg), LANES),
                                     cfg.pe_cols)),
            "w_load": In(1), "w_swap": In(1),
            "i": In(stream.Signature(wpu_beat_layout(cfg))),
            "o": Out(stream.Signature(wpu_result_layout(cfg))),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self._cfg
        rows, cols = cfg.pe_rows, cfg.pe_cols
        pes = [[Reused(lambda: Pe(cfg), "pe", cfg) for _ in range(cols)] for _ in range(rows)]

        # All PEs see the same flags and mode, so they stay in step: one handshake for all.
        flat = [pe for row in pes for pe in row]
        fan_out(m, self.i, [pe.i for pe in flat])
        all_valid = Signal()
        out_free = ~self.o.valid | self.o.ready
        m.d.comb += all_valid.eq(all_of(pe.o.valid for pe in flat))
        for r, row in enumerate(pes):
            for c, pe in enumerate(row):
                m.submodules[f"pe_{r}_{c}"] = pe
                beat = pe.i.payload
                m.d.comb += [
                    pe.mode.eq(self.mode),
                    pe.w.eq(self.w[c] if r == 0 else pes[r - 1][c].w_out),
                    pe.w_load.eq(self.w_load), pe.w_swap.eq(self.w_swap),
                    beat.x.eq(self.i.payload.x[r][c]), beat.e.eq(self.i.payload.e[r][c]),
                    beat.row.eq(self.i.payload.row), beat.first.eq(self.i.payload.first),
                    beat.last.eq(self.i.payload.last),
                    pe.o.ready.eq(out_free & all_valid),
                ]

        # Row accumulator. colsum[r] = a PE row's three MAC sums summed over its columns,
        # then routed into the pattern's lanes (`route_lanes`: every PE has the same route,
        # so routing the column sums is summing the routed lanes). Only FP and BP read it,
        # whose MAC sums are at most three products each (`hw.pe`): when all rows x cols of
        # them fit acc_bits, the sums are exact in `width` bits, never clamped and never
        # flagged.
        exact = exact_bits(cfg)
        width = exact or cfg.acc_bits + (2 * rows * cols).bit_length()
        lane_layout = data.StructLayout({"value": signed(width), "ovf": 1})

        def add(terms, bits=width):
            """The terms' sum; each term is taken as `bits` signed bits."""
            total = Signal(lane_layout)
            m.d.comb += total.value.eq(sum(t.value[:bits].as_signed() for t in terms))
            if not exact:
                m.d.comb += total.ovf.eq(any_of(t.ovf for t in terms))
            return total

        def masked(term, keep):
            out = Signal(lane_layout)
            m.d.comb += [out.value.eq(Mux(keep, term.value, 0)), out.ovf.eq(keep & term.ovf)]
            return out

        def routed(sums, route):
            lanes = []
            for value, ovf in route_lanes([(t.value, t.ovf) for t in sums], route):
                lane = Signal(lane_layout)
                m.d.comb += [lane.value.eq(value), lane.ovf.eq(ovf if not exact else 0)]
                lanes.append(lane)
            return lanes

        route = pes[0][0].o.payload.route
        # (an FP or BP MAC sum is three products at most: product_bits + 2 bits hold it)
        few = cfg.pint.product_bits + 2
        colsum = [routed([add([pes[r][c].o.payload.sums[k] for c in range(cols)], few)
                          for k in range(LANES)], route) for r in range(rows)]
        # Group 0 gathers the rows the mode merges into it; rows 1 and 2 stay alone (their
        # groups are themselves whenever they are not merged into group 0).
        merge = [Signal(name=f"merge{r}") for r in range(rows)]
        with m.Switch(self.mode.as_value()):
            for key, groups in _mode_table():
                with m.Case(key):
                    m.d.comb += [merge[r].eq(groups[r] == 0) for r in range(1, rows)]
            with m.Default():       # WG: nothing merges
                m.d.comb += [merge[r].eq(0) for r in range(1, rows)]
        is_wg = self.mode.phase == Phase.WG

        result = Signal(wpu_result_layout(cfg))
        for r in range(rows):
            for c in range(cols):
                cell = result[r][c]
                direct = pes[r][c].o.payload     # (WG: lane k is MAC k's sum)
                for lane in range(LANES):
                    if c == 0:
                        terms = [colsum[r][lane]] if r != 0 else \
                            [colsum[0][lane]] + [masked(colsum[q][lane], merge[q])
                                                 for q in range(1, rows)]
                        merged = add(terms)
                        value, sat = saturate(m, merged.value, cfg.acc_bits)    # (exact: none)
                        # (a merged sum that clamps is its rail already: neg is its sign)
                        neg = 0 if exact else merged.value[-1]
                        m.d.comb += [
                            cell.lanes[lane].value.eq(Mux(is_wg, direct.sums[lane].value,
                                                          value)),
                            cell.lanes[lane].ovf.eq(Mux(is_wg, direct.sums[lane].ovf,
                                                        merged.ovf | sat)),
                            cell.lanes[lane].neg.eq(Mux(is_wg, direct.sums[lane].neg, neg)),
                        ]
                    else:
                        # Only WG reads these cells; other modes leave them unspecified
                        # rather than pay a multiplexer per bit to clear them.
                        m.d.comb += cell.lanes[lane].eq(direct.sums[lane])
                m.d.comb += cell.count.eq(direct.count)

        with m.If(all_valid & out_free):
            m.d.sync += [self.o.payload.eq(result), self.o.valid.eq(1)]
        with m.Elif(self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        return m


def exact_bits(cfg):
    """Bits that hold any FP or BP sum of a WPU exactly (pe_rows x pe_cols PE lanes of at
    most three products of decoded values), or None when that is more than acc_bits."""
    most = cfg.pe_rows * cfg.pe_cols * 3 * cfg.pint.t_min ** 2
    bits = most.bit_length() + 1
    return bits if bits <= cfg.acc_bits else None


def _mode_table():
    """(mode word, row groups) for every non-WG mode word."""
    layout = pe_mode_layout()
    for phase in (Phase.FP, Phase.BP):
        for stride2 in (0, 1):
            for k1 in (0, 1):
                key = layout.const({"phase": phase, "stride2": stride2, "k1": k1}).as_value()
                yield key.value, row_groups((phase, stride2, k1))
