# amaranth: UnusedElaboratable=no
"""The VC709 board build without Vivado: the platform, the build plans and their check, the
MIG project file, the bring-up design's UART, the board backend's device files, and the
board core running a program through the runtime's board backend (cocotb)."""

import re

import pytest
from amaranth.sim import Simulator

from boards import build, mig
from boards.blinky import UartTx
from boards.check import check_plan, clock_ports
from boards.core import BoardCore
from boards.vc709 import DDR3, VC709Platform
from hw.config import small, vc709
from hw.isa.regs import BY_NAME, ID
from sim.board_backend import XdmaDevice, XdmaLink
from sim.runner import run_cocotb

CONSTRAINTS = build.CONSTRAINTS


def test_platform_smoke():
    """amaranth-boards' own smoke test: its Blinky (every LED, button and switch) builds a
    complete plan for the platform, which the checker passes."""
    from amaranth_boards.test.blinky import Blinky
    platform = VC709Platform()
    plan = platform.build(Blinky(), name="smoke", do_build=False)
    assert {"smoke.v", "smoke.xdc", "smoke.tcl", "build_smoke.sh"} <= set(plan.files)
    assert "xc7vx690tffg1761-2" in plan.files["smoke.tcl"]
    assert check_plan(plan.files, "smoke", clock_ports(platform)) == []


def test_blinky_plan():
    name, plan, problems = build.plan("blinky")
    assert problems == []
    xdc = plan.files[f"{name}.xdc"]
    for pin in ("AU36", "AM39", "AU39", "H19", "G18", "AV40"):
        assert f"LOC {pin} " in xdc, pin
    assert "CONFIG_VOLTAGE 1.8" in plan.files["vc709_common.xdc"]


@pytest.fixture(scope="module")
def vc709_plan():
    return build.plan("eta", vc709(), jobs=2)


def test_vc709_plan(vc709_plan):
    """The accelerator's plan for the VC709 preset: every DDR3 and PCIe pin of the tables on
    its port, the block design built from files in the plan, the checker clean."""
    name, plan, problems = vc709_plan
    assert problems == []
    files = plan.files
    pins = set(re.findall(r"set_property LOC (\S+) ", files[f"{name}.xdc"]))
    ddr3 = set(" ".join(DDR3.values()).split())
    assert ddr3 <= pins, sorted(ddr3 - pins)
    assert "module eta_core" in files["eta_core.v"]
    assert files["vc709_ddr3.prj"] == (CONSTRAINTS / "vc709_ddr3.prj").read_text()
    tcl = files[f"{name}.tcl"]
    for step in ("create_bd_design eta_system", "create_bd_cell -type module -reference eta_core",
                 "ipdef xdma", "ipdef mig_7series", "make_wrapper"):
        assert step in tcl, step
    assert tcl.index("make_wrapper") < tcl.index("synth_design")


@pytest.mark.parametrize("damage, problem", [
    (lambda x: x.replace("LOC AM39 ", "LOC AN39 "), "pin AN39 is used by"),
    (lambda x: x.replace('IOSTANDARD "LVCMOS18" [get_ports "led_0__io"]', ""),
     "port led_0__io (pin AM39) has no I/O standard"),
    (lambda x: x.replace('IOSTANDARD "SSTL15" [get_ports "ddr3_0__ba__io\\[0]"]',
                         'IOSTANDARD "LVCMOS18" [get_ports "ddr3_0__ba__io\\[0]"]'),
     "LVCMOS18 needs a 1.8 V bank; pin D21's bank is at 1.5 V"),
    (lambda x: re.sub(r'set_property LOC \S+ \[get_ports "pcie_0__tx__p\\\[3\]"\]', "", x),
     r"port pcie_0__tx__p[3] has no pin"),
])
def test_check_finds(vc709_plan, damage, problem):
    """The checker catches a pin used twice, a missing I/O standard, a standard its bank
    cannot supply, a port without a pin."""
    name, plan, _ = vc709_plan
    files = dict(plan.files)
    files[f"{name}.xdc"] = damage(files[f"{name}.xdc"])
    assert files[f"{name}.xdc"] != plan.files[f"{name}.xdc"], "the damage did not apply"
    problems = check_plan(files, name, clock_ports(VC709Platform()))
    assert any(problem in p for p in problems), problems


def test_check_finds_unconstrained_clock_and_missing_file(vc709_plan):
    name, plan, _ = vc709_plan
    files = dict(plan.files)
    files[f"{name}.xdc"] = re.sub(r"create_clock -name clk200_0__p .*", "",
                                  files[f"{name}.xdc"])
    del files["vc709_ddr3.prj"]
    from boards.system import system_tcl
    problems = check_plan(files, name, clock_ports(VC709Platform()),
                          system_tcl("vc709_ddr3.prj"))
    assert "clock input clk200_0__p has no create_clock" in problems
    assert "the Tcl reads vc709_ddr3.prj, which the plan lacks" in problems


def test_mig_project_file():
    """The committed project file is the generated one; its pins are the table's, each once,
    with the standards the MIG expects."""
    assert (CONSTRAINTS / "vc709_ddr3.prj").read_text() == mig.prj(), \
        "constraints/vc709_ddr3.prj is stale: python -m boards.mig constraints/vc709_ddr3.prj"
    pins = mig.pins()
    assert len(pins) == 116 and len({p for _, p, _ in pins}) == 116   # 64 DQ, 8 DM, 8 DQS
    # pairs, 16 address, 3 bank, 9 control
    names = dict((n, (p, s)) for n, p, s in pins)
    assert names["ddr3_dq[0]"] == ("N14", "SSTL15_T_DCI")
    assert names["ddr3_dqs_p[7]"] == ("E27", "DIFF_SSTL15_T_DCI")
    assert names["ddr3_ck_p[0]"] == ("E19", "DIFF_SSTL15")
    assert names["ddr3_reset_n"] == ("P18", "LVCMOS15")
    assert "<C0_S_AXI_DATA_WIDTH>512<" in mig.prj() and vc709().axi_data_bits == 512


def test_uart_tx():
    """8N1 frames at the divisor, bytes back to back, decoded from the line."""
    dut = UartTx(divisor=4)
    message = b"\x00\xffETA\x55"
    got = []

    async def testbench(ctx):
        for b in message:
            ctx.set(dut.data.payload, b)
            ctx.set(dut.data.valid, 1)
            await ctx.tick().until(dut.data.ready)
            ctx.set(dut.data.valid, 0)

    async def receiver(ctx):
        while len(got) < len(message):
            await ctx.tick().until(dut.tx == 0)                  # start bit
            await ctx.tick().repeat(2)                           # to the middle of it
            assert ctx.get(dut.tx) == 0
            byte = 0
            for i in range(8):
                await ctx.tick().repeat(4)
                byte |= ctx.get(dut.tx) << i
            await ctx.tick().repeat(4)
            assert ctx.get(dut.tx) == 1, "stop bit"
            got.append(byte)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(testbench)
    sim.add_testbench(receiver, background=True)
    sim.run_until(1e-6 * 4 * 11 * (len(message) + 2))
    assert bytes(got) == message


def test_xdma_files(tmp_path):
    """The board backend's link on regular files standing in for the XDMA device files:
    registers as 4-byte little-endian words at their offsets, DRAM through h2c and back
    through c2h (one file behind both), and clear errors for a missing device."""
    prefix = tmp_path / "xdma0"
    (tmp_path / "xdma0_user").write_bytes(bytes(4096))
    (tmp_path / "xdma0_h2c_0").write_bytes(bytes(1 << 16))
    (tmp_path / "xdma0_c2h_0").symlink_to(tmp_path / "xdma0_h2c_0")
    link = XdmaLink(XdmaDevice(str(prefix)))
    link.write_reg(BY_NAME["PROGRAM_BASE"].offset, 0x1234_5678)
    raw = (tmp_path / "xdma0_user").read_bytes()
    off = BY_NAME["PROGRAM_BASE"].offset
    assert raw[off:off + 4] == bytes([0x78, 0x56, 0x34, 0x12])
    assert link.read_reg(off) == 0x1234_5678
    data = bytes(range(256)) * 40
    link.write(0x300, data)
    assert link.read(0x300, len(data)) == data
    with pytest.raises(IOError, match="DRAM read stopped at 0x10000"):
        link.read((1 << 16) - 8, 16)
    with pytest.raises(TimeoutError, match="no interrupt in 0.01 s"):
        link.wait_irq(0.01)                       # no events file: IRQ_STATUS polled
    with pytest.raises(FileNotFoundError, match="xdma1_user.*missing"):
        XdmaDevice(str(tmp_path / "xdma1"))


def test_board_backend_refuses_a_stranger(tmp_path):
    """A device whose ID register is not ETA's is refused by name."""
    from sim.board_backend import BoardBackend
    for n in ("user", "h2c_0", "c2h_0"):
        (tmp_path / f"xdma0_{n}").write_bytes(bytes(4096))
    with pytest.raises(ValueError, match=r"no ETA accelerator .*ID reads 0x0"):
        BoardBackend(small(), 1024, device=str(tmp_path / "xdma0"))
    assert ID != 0


def test_board_core_runs_a_program():
    """The board core with cocotbext-axi models for the MIG and the XDMA: a compiled training
    step through the runtime's board backend, bit-exact with the golden machine."""
    cfg = small()
    run_cocotb(BoardCore(cfg, heartbeat_bits=6), "eta_core", "sim.tb.tb_board", cfg,
               testcase="program")


def test_board_core_lint_clean(tmp_path):
    """The board core passes `verilator --lint-only -Wall`, the small top inside it
    (`test_lint` leaves the small top to this test)."""
    from sim.runner import lint, to_verilog
    ok, messages = lint(to_verilog(BoardCore(small()), "eta_core"), "eta_core", tmp_path)
    assert ok, messages
