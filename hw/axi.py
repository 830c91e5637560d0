"""AXI4-Lite ports with Xilinx names (`s_axi_awaddr`, ...), so Vivado's block designer
infers the interface and cocotbext-axi binds it with `AxiLiteBus.from_prefix(dut, prefix)`."""

from amaranth.lib.wiring import In, Out

__all__ = ["axi_lite_slave", "RESP_OKAY", "RESP_SLVERR", "RESP_DECERR"]

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
