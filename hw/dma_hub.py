"""Many DMA clients behind one AXI4 master: a buffered `DmaReader` per read client and a
buffered `DmaWriter` per write client, joined by `AxiReadArbiter` and `AxiWriteArbiter`.

Every reader and writer has a buffer: clients that share the in-order R channel, or the
W channel in AW order, and wait on each other (the A-Core's zipped operands, its results
written in step) deadlock without one (`hw.dma`). Per read client `name`: `{name}_cmd` in,
`{name}_words` out; per write client: `{name}_cmd` and `{name}_words` in, `{name}_written`
out. Clients are numbered reads first, then writes.

- **Window**: a command outside [dram_base, dram_base + dram_size) is not taken; its client's
  bit in `window_error` is set while it waits (the run stops for it).
- **Bus errors**: `bus_error` has a bit per client, its reader's or writer's sticky error
  (SLVERR/DECERR, or a command off the lane grid); `error_addr` is the first one's command
  address; `clear` clears them.
- **Hold**: while `hold`, no client's command is taken (the bursts already accepted go on),
  so the AXI port comes to rest before a soft reset.
"""

from amaranth.hdl import Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from .axi import AxiReadArbiter, AxiWriteArbiter, axi4_read_master, axi4_write_master, \
    join_axi
from .config import Configured
from .dma import DmaReader, DmaWriter, dma_cmd_layout, dma_word_layout
from .lockstep import all_of

__all__ = ["DmaHub"]


def _id_bits(n):
    return 1 + (n - 1).bit_length()


class DmaHub(Configured, wiring.Component):
    """reads: client names; writes: {name: lane bytes (None: pe_cols)}; buffer: beats per
    reader and writer; outstanding: bursts in flight per reader and writer."""

    def __init__(self, cfg, reads, writes, buffer=16, outstanding=16):
        reads, writes = list(reads), dict(writes)
        for what, names in (("read", reads), ("write", list(writes))):
            if not 2 <= len(names) <= 16:
                raise ValueError(f"{what} clients: 2 to 16, not {len(names)}")
        if set(reads) & set(writes):
            raise ValueError(f"a client is a reader or a writer: {sorted(set(reads) & set(writes))}")
        self._reads, self._writes = reads, writes
        self._buffer, self._outstanding = buffer, outstanding

        def members(cfg):
            n = len(reads) + len(writes)
            out = {"bus_error": Out(n), "window_error": Out(n),
                   "error_addr": Out(cfg.dram_addr_bits), "clear": In(1), "idle": Out(1),
                   "hold": In(1), "dram_base": In(cfg.dram_addr_bits),
                   "dram_size": In(cfg.dram_addr_bits)}
            for name in reads:
                out[f"{name}_cmd"] = In(stream.Signature(dma_cmd_layout(cfg)))
                out[f"{name}_words"] = Out(stream.Signature(dma_word_layout(cfg)))
            for name, lane in writes.items():
                out[f"{name}_cmd"] = In(stream.Signature(dma_cmd_layout(cfg)))
                out[f"{name}_words"] = In(stream.Signature(dma_word_layout(cfg, lane)))
                out[f"{name}_written"] = Out(1)
            out.update(axi4_read_master("m_axi", cfg.dram_addr_bits, cfg.axi_data_bits,
                                        _id_bits(len(reads))))
            out.update(axi4_write_master("m_axi", cfg.dram_addr_bits, cfg.axi_data_bits,
                                         _id_bits(len(writes))))
            return out
        super().__init__(cfg, members)

    def elaborate(self, platform):
        m = Module()
        cfg = self._cfg
        a, d = cfg.dram_addr_bits, cfg.axi_data_bits
        m.submodules.rd_arb = rd_arb = AxiReadArbiter(len(self._reads), a, d)
        m.submodules.wr_arb = wr_arb = AxiWriteArbiter(len(self._writes), a, d)
        dmas = []
        for i, name in enumerate(self._reads):
            m.submodules[f"rd_{name}"] = rd = DmaReader(cfg, self._outstanding,
                                                        buffer=self._buffer)
            self._guard(m, getattr(self, f"{name}_cmd"), rd.cmd, i)
            wiring.connect(m, rd.o, wiring.flipped(getattr(self, f"{name}_words")))
            join_axi(m, rd, "m_axi", rd_arb, f"s{i}_axi")
            dmas.append(rd)
        for i, (name, lane) in enumerate(self._writes.items()):
            m.submodules[f"wr_{name}"] = wr = DmaWriter(cfg, self._outstanding, lane_bytes=lane,
                                                        buffer=self._buffer)
            self._guard(m, getattr(self, f"{name}_cmd"), wr.cmd, len(self._reads) + i)
            wiring.connect(m, wiring.flipped(getattr(self, f"{name}_words")), wr.i)
            m.d.comb += getattr(self, f"{name}_written").eq(wr.written)
            join_axi(m, wr, "m_axi", wr_arb, f"s{i}_axi")
            dmas.append(wr)
        join_axi(m, rd_arb, "m_axi", self, "m_axi")
        join_axi(m, wr_arb, "m_axi", self, "m_axi")
        # The first client in error names the address (its error is sticky until `clear`).
        for i, dma in reversed(list(enumerate(dmas))):
            m.d.comb += [dma.clear.eq(self.clear), self.bus_error[i].eq(dma.error)]
            with m.If(dma.error):
                m.d.comb += self.error_addr.eq(dma.error_addr)
        m.d.comb += self.idle.eq(all_of([dma.idle for dma in dmas]))
        return m

    def _guard(self, m, client, dma, i):
        """Client i's commands into its DMA: only inside the window, not while `hold`."""
        c = client.payload
        lo, size = self.dram_base, self.dram_size
        inside = (c.addr >= lo) & (c.addr - lo <= size) & (c.bytes <= size - (c.addr - lo))
        m.d.comb += [dma.payload.eq(c),
                     dma.valid.eq(client.valid & inside & ~self.hold),
                     client.ready.eq(dma.ready & inside & ~self.hold),
                     self.window_error[i].eq(client.valid & ~inside)]
