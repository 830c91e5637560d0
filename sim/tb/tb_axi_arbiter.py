"""cocotb: the AXI4 arbiters (`hw.axi`). Each client port is driven by a cocotbext-axi
master doing random bursts at the same time as the others (several in flight each, so
their IDs differ); the shared port goes to cocotbext-axi's AXI RAM. Random pauses on every
channel of every port. Reads: every client gets the bytes at its addresses. Writes: the
clients write their own regions; the RAM afterwards holds exactly their bytes and every
response is OKAY."""

import cocotb
from cocotb.triggers import Combine

from sim.tb.common import pauses, rngs, start

SIZE = 1 << 16
CLIENTS = 3


def bursts(rnd, lo, hi, n):
    """n (address, length) inside [lo, hi): short ones, long ones, ones across 4 KiB."""
    out = []
    for k in range(n):
        length = rnd.choice([rnd.randint(1, 16), rnd.randint(64, 600), 8])
        if k % 3 == 2:
            addr = ((lo + 4096) // 4096) * 4096 - rnd.randint(1, 40)
        else:
            addr = rnd.randrange(lo, hi - length)
        out.append((max(lo, addr), length))
    return out


@cocotb.test(timeout_time=1, timeout_unit="ms")
async def reads(dut):
    from cocotbext.axi import AxiMasterRead, AxiRamRead, AxiReadBus
    rnd, rng = rngs(1)
    ram = AxiRamRead(AxiReadBus.from_prefix(dut, "m_axi"), dut.clk, dut.rst, size=SIZE)
    image = bytes(rng.integers(0, 256, SIZE, dtype="uint8"))
    ram.write(0, image)
    masters = [AxiMasterRead(AxiReadBus.from_prefix(dut, f"s{i}_axi"), dut.clk, dut.rst)
               for i in range(CLIENTS)]
    for ch in (ram.ar_channel, ram.r_channel):
        ch.set_pause_generator(pauses(rnd, 0.3))
    for mst in masters:
        for ch in (mst.ar_channel, mst.r_channel):
            ch.set_pause_generator(pauses(rnd, 0.3))
    await start(dut)
    got = {i: [] for i in range(CLIENTS)}

    async def client(i):
        # Two reads in flight at a time: the master gives them different IDs.
        todo = bursts(rnd, 0, SIZE, 24)
        for a in range(0, len(todo), 2):
            pair = todo[a:a + 2]
            ops = [cocotb.start_soon(mst_read(i, addr, n)) for addr, n in pair]
            await Combine(*ops)

    async def mst_read(i, addr, n):
        data = await masters[i].read(addr, n)
        got[i].append((addr, n, bytes(data.data)))

    await Combine(*[cocotb.start_soon(client(i)) for i in range(CLIENTS)])
    for i in range(CLIENTS):
        assert len(got[i]) == 24
        for addr, n, data in got[i]:
            assert data == image[addr:addr + n], f"client {i}: read of {n} at {addr:#x}"


@cocotb.test(timeout_time=1, timeout_unit="ms")
async def writes(dut):
    from cocotbext.axi import AxiMasterWrite, AxiRamWrite, AxiWriteBus
    rnd, rng = rngs(2)
    ram = AxiRamWrite(AxiWriteBus.from_prefix(dut, "m_axi"), dut.clk, dut.rst, size=SIZE)
    background = bytes(rng.integers(0, 256, SIZE, dtype="uint8"))
    ram.write(0, background)
    masters = [AxiMasterWrite(AxiWriteBus.from_prefix(dut, f"s{i}_axi"), dut.clk, dut.rst)
               for i in range(CLIENTS)]
    for ch in (ram.aw_channel, ram.w_channel, ram.b_channel):
        ch.set_pause_generator(pauses(rnd, 0.3))
    for mst in masters:
        for ch in (mst.aw_channel, mst.w_channel, mst.b_channel):
            ch.set_pause_generator(pauses(rnd, 0.3))
    await start(dut)
    want = bytearray(background)
    region = SIZE // CLIENTS
    plans = {}
    for i in range(CLIENTS):
        # Each client's own region; later writes may overwrite its earlier ones, in order.
        plans[i] = [(addr, bytes(rng.integers(0, 256, n, dtype="uint8")))
                    for addr, n in bursts(rnd, i * region, (i + 1) * region, 24)]
        for addr, data in plans[i]:
            want[addr:addr + len(data)] = data
    resps = []

    async def client(i):
        for addr, data in plans[i]:
            resp = await masters[i].write(addr, data)
            resps.append(resp.resp)

    await Combine(*[cocotb.start_soon(client(i)) for i in range(CLIENTS)])
    assert len(resps) == CLIENTS * 24
    assert all(int(r) == 0 for r in resps), "a write answered other than OKAY"
    got = ram.read(0, SIZE)
    bad = [k for k in range(SIZE) if got[k] != want[k]]
    assert not bad, f"{len(bad)} bytes differ, first at {bad[0]:#x}"
