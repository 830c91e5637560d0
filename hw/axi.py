"""AXI4 and AXI4-Lite ports with Xilinx names (`m_axi_araddr`, `s_axi_awaddr`, ...), so
Vivado's block designer infers the interfaces and cocotbext-axi binds them with
`AxiBus.from_prefix(dut, prefix)`; and the arbiters that share one AXI4 master among the
DMA's readers and writers.

`AxiReadArbiter` / `AxiWriteArbiter`: n AXI4 masters (ports `s0_axi`, `s1_axi`, ...) onto
one (`m_axi`). AR / AW go round robin, a granted request held until taken (AXI's rule: a
valid request never changes); the ID on `m_axi` is the client's index above the client's
own ID, so R and B beats return to their client by ID, each client's in its own order.
W beats follow the order of the AW requests taken (AXI4 has no WID): a FIFO of the clients
whose bursts are owed, and `depth` bursts at most.
"""

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import fifo, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["axi_lite_slave", "axi4_read_master", "axi4_write_master", "join_axi",
           "AxiReadArbiter", "AxiWriteArbiter", "RESP_OKAY", "RESP_SLVERR", "RESP_DECERR"]

RESP_OKAY, RESP_SLVERR, RESP_DECERR = 0, 2, 3


def axi_lite_slave(prefix, addr_bits, data_bits=32):
    """Signature members of an AXI4-Lite slave port named `prefix`_*."""
    p = prefix
    return {
        f"{p}_awaddr": In(addr_bits), f"{p}_awprot": In(3), f"{p}_awvalid": In(1),
        f"{p}_awready": Out(1),
        f"{p}_wdata": In(data_bits), f"{p}_wstrb": In(data_bits // 8), f"{p}_wvalid": In(1),
        f"{p}_wready": Out(1),
        f"{p}_bresp": Out(2), f"{p}_bvalid": Out(1), f"{p}_bready": In(1),
        f"{p}_araddr": In(addr_bits), f"{p}_arprot": In(3), f"{p}_arvalid": In(1),
        f"{p}_arready": Out(1),
        f"{p}_rdata": Out(data_bits), f"{p}_rresp": Out(2), f"{p}_rvalid": Out(1),
        f"{p}_rready": In(1),
    }


def axi4_read_master(prefix, addr_bits, data_bits, id_bits=1):
    """Signature members of an AXI4 master's read channels, Xilinx names (`m_axi_ar*`)."""
    p = prefix
    return {
        f"{p}_arid": Out(id_bits), f"{p}_araddr": Out(addr_bits), f"{p}_arlen": Out(8),
        f"{p}_arsize": Out(3), f"{p}_arburst": Out(2), f"{p}_arlock": Out(1),
        f"{p}_arcache": Out(4), f"{p}_arprot": Out(3), f"{p}_arvalid": Out(1),
        f"{p}_arready": In(1),
        f"{p}_rid": In(id_bits), f"{p}_rdata": In(data_bits), f"{p}_rresp": In(2),
        f"{p}_rlast": In(1), f"{p}_rvalid": In(1), f"{p}_rready": Out(1),
    }


def axi4_write_master(prefix, addr_bits, data_bits, id_bits=1):
    """Signature members of an AXI4 master's write channels, Xilinx names (`m_axi_aw*`)."""
    p = prefix
    return {
        f"{p}_awid": Out(id_bits), f"{p}_awaddr": Out(addr_bits), f"{p}_awlen": Out(8),
        f"{p}_awsize": Out(3), f"{p}_awburst": Out(2), f"{p}_awlock": Out(1),
        f"{p}_awcache": Out(4), f"{p}_awprot": Out(3), f"{p}_awvalid": Out(1),
        f"{p}_awready": In(1),
        f"{p}_wdata": Out(data_bits), f"{p}_wstrb": Out(data_bits // 8), f"{p}_wlast": Out(1),
        f"{p}_wvalid": Out(1), f"{p}_wready": In(1),
        f"{p}_bid": In(id_bits), f"{p}_bresp": In(2), f"{p}_bvalid": In(1),
        f"{p}_bready": Out(1),
    }


def join_axi(m, master, master_prefix, other, other_prefix):
    """Wire the flat AXI ports `master_prefix`_* of component `master` to `other_prefix`_*
    of `other`: a slave beside it, or the enclosing component's own port of the same
    direction. Whatever the master drives drives the other side, and back."""
    for name, member in master.signature.members.items():
        if not name.startswith(master_prefix + "_"):
            continue
        mine = getattr(master, name)
        theirs = getattr(other, other_prefix + name[len(master_prefix):])
        m.d.comb += theirs.eq(mine) if member.flow == Out else mine.eq(theirs)


def flipped(members):
    """The other end of an AXI port's members: a slave port for a master's."""
    return {name: (In if m.flow == Out else Out)(m.shape) for name, m in members.items()}


def _check(n, id_bits, depth):
    if not 2 <= n <= 16:
        raise ValueError(f"an arbiter needs 2 to 16 clients, not {n}")
    if not 1 <= id_bits <= 8:
        raise ValueError(f"the clients' ID width must be in [1, 8], not {id_bits}")
    if not 1 <= depth <= 64:
        raise ValueError(f"depth must be in [1, 64], not {depth}")


def _grant(m, n, valids, taken, name):
    """Round robin among `valids`, a grant held from the cycle it is first shown until
    `taken`. Returns (sel, any): the client shown and whether one is."""
    sel = Signal(range(n), name=f"{name}_sel")
    held = Signal(name=f"{name}_held")
    last = Signal(range(n), name=f"{name}_last")
    pick = Signal(range(n), name=f"{name}_pick")
    found = Signal(name=f"{name}_found")
    # The first valid client after `last`, in rotation.
    for off in reversed(range(1, n + 1)):
        with m.Switch(last):
            for lv in range(n):
                with m.Case(lv):
                    c = (lv + off) % n
                    with m.If(valids[c]):
                        m.d.comb += [pick.eq(c), found.eq(1)]
    m.d.comb += sel.eq(Mux(held, last, pick))
    shown = held | found
    with m.If(shown & ~held):
        m.d.sync += [last.eq(pick), held.eq(1)]
    with m.If(taken):
        m.d.sync += held.eq(0)
        with m.If(~held):
            m.d.sync += last.eq(pick)
    return sel, shown


def _mux(m, n, sel, sources, sink):
    with m.Switch(sel):
        for i in range(n):
            with m.Case(i):
                m.d.comb += sink.eq(sources[i])


def _requests(m, n, s, mm, ch, room=1):
    """AR or AW (`ch`) of the clients (`s(i, name)`) onto the shared port (`mm(name)`):
    round robin, the client's index above its ID, only while `room`. Returns (sel,
    taken): the client shown and whether the port took its request this cycle."""
    taken = mm(f"{ch}valid") & mm(f"{ch}ready")
    sel, shown = _grant(m, n, [s(i, f"{ch}valid") for i in range(n)], taken, ch)
    for x in ("addr", "len", "size", "burst", "lock", "cache", "prot"):
        _mux(m, n, sel, [s(i, f"{ch}{x}") for i in range(n)], mm(f"{ch}{x}"))
    _mux(m, n, sel, [Cat(s(i, f"{ch}id"), Const(i, range(n))) for i in range(n)],
         mm(f"{ch}id"))
    m.d.comb += mm(f"{ch}valid").eq(shown & room)
    for i in range(n):
        m.d.comb += s(i, f"{ch}ready").eq(shown & room & (sel == i) & mm(f"{ch}ready"))
    return sel, taken


class AxiReadArbiter(wiring.Component):
    def __init__(self, n, addr_bits, data_bits, id_bits=1):
        _check(n, id_bits, 1)
        self._n, self._id = n, id_bits
        hi = (n - 1).bit_length()
        members = axi4_read_master("m_axi", addr_bits, data_bits, id_bits + hi)
        for i in range(n):
            members.update(flipped(axi4_read_master(f"s{i}_axi", addr_bits, data_bits,
                                                    id_bits)))
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        n, ib = self._n, self._id
        s = lambda i, x: getattr(self, f"s{i}_axi_{x}")
        mm = lambda x: getattr(self, f"m_axi_{x}")
        _requests(m, n, s, mm, "ar")
        # R: by the ID's client bits.
        who = mm("rid")[ib:]
        for i in range(n):
            mine = who == i
            m.d.comb += [s(i, "rid").eq(mm("rid")[:ib]), s(i, "rdata").eq(mm("rdata")),
                         s(i, "rresp").eq(mm("rresp")), s(i, "rlast").eq(mm("rlast")),
                         s(i, "rvalid").eq(mm("rvalid") & mine)]
        _mux(m, n, who, [s(i, "rready") for i in range(n)], mm("rready"))
        return m


class AxiWriteArbiter(wiring.Component):
    def __init__(self, n, addr_bits, data_bits, id_bits=1, depth=8):
        _check(n, id_bits, depth)
        self._n, self._id, self._depth = n, id_bits, depth
        hi = (n - 1).bit_length()
        members = axi4_write_master("m_axi", addr_bits, data_bits, id_bits + hi)
        for i in range(n):
            members.update(flipped(axi4_write_master(f"s{i}_axi", addr_bits, data_bits,
                                                     id_bits)))
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        n, ib = self._n, self._id
        s = lambda i, x: getattr(self, f"s{i}_axi_{x}")
        mm = lambda x: getattr(self, f"m_axi_{x}")
        # The clients owed W beats, in the order their AW requests were taken.
        # (unbuffered: W can follow its AW the next cycle)
        m.submodules.owed = owed = fifo.SyncFIFO(width=(n - 1).bit_length(), depth=self._depth)
        sel, taken = _requests(m, n, s, mm, "aw", room=owed.w_rdy)
        m.d.comb += [owed.w_data.eq(sel), owed.w_en.eq(taken)]
        # W: from the client at the head of `owed`, until its burst's last beat.
        head = owed.r_data
        for x in ("data", "strb", "last"):
            _mux(m, n, head, [s(i, f"w{x}") for i in range(n)], mm(f"w{x}"))
        wvalid = Signal()
        _mux(m, n, head, [s(i, "wvalid") for i in range(n)], wvalid)
        m.d.comb += mm("wvalid").eq(owed.r_rdy & wvalid)
        for i in range(n):
            m.d.comb += s(i, "wready").eq(owed.r_rdy & (head == i) & mm("wready"))
        m.d.comb += owed.r_en.eq(mm("wvalid") & mm("wready") & mm("wlast"))
        # B: by the ID's client bits.
        who = mm("bid")[ib:]
        for i in range(n):
            m.d.comb += [s(i, "bid").eq(mm("bid")[:ib]), s(i, "bresp").eq(mm("bresp")),
                         s(i, "bvalid").eq(mm("bvalid") & (who == i))]
        _mux(m, n, who, [s(i, "bready") for i in range(n)], mm("bready"))
        return m
