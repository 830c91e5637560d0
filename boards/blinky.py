"""The bring-up design: LEDs and the USB UART, nothing else on the board.

LED i shows bit 26 - i of a counter of the 200 MHz clock (LED 0 about 1.5 Hz, each next one
twice as fast), inverted while switch i is on; CPU_RESET resets. Once a second the
UART sends `BANNER` (8N1 at `BAUD`): a terminal on the CP2103's port shows it.
"""

from amaranth.hdl import Array, Cat, Const, Elaboratable, Module, Mux, Signal
from amaranth.lib import io, stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["Blinky", "UartTx", "BANNER", "BAUD"]

BANNER = b"ETA on VC709: blinky\r\n"
BAUD = 115_200


class UartTx(wiring.Component):
    """Bytes in (a stream), 8N1 out on `tx` (idle high), `divisor` clocks a bit."""

    def __init__(self, divisor):
        if divisor < 2:
            raise ValueError(f"divisor must be at least 2 clocks a bit, not {divisor}")
        self._divisor = divisor
        super().__init__({"data": In(stream.Signature(8)), "tx": Out(1, init=1)})

    def elaborate(self, platform):
        m = Module()
        frame = Signal(10, init=0x3FF)            # stop, 8 data bits LSB first, start
        left = Signal(range(11))                  # bits still to send
        timer = Signal(range(self._divisor))
        m.d.comb += [self.tx.eq(frame[0]), self.data.ready.eq(left == 0)]
        with m.If(self.data.valid & self.data.ready):
            m.d.sync += [frame.eq(Cat(Const(0, 1), self.data.payload, Const(1, 1))),
                         left.eq(10), timer.eq(self._divisor - 1)]
        with m.Elif(left != 0):
            with m.If(timer == 0):
                m.d.sync += [frame.eq(Cat(frame[1:], Const(1, 1))), left.eq(left - 1),
                             timer.eq(self._divisor - 1)]
            with m.Else():
                m.d.sync += timer.eq(timer - 1)
        return m


class Blinky(Elaboratable):
    """See the module's docstring; the banner every `period_s` seconds."""

    def __init__(self, period_s=1.0):
        self._period_s = period_s

    def elaborate(self, platform):
        m = Module()
        hz = int(platform.default_clk_frequency)
        leds = [io.Buffer("o", platform.request("led", i, dir="-")) for i in range(8)]
        switches = [io.Buffer("i", platform.request("switch", i, dir="-")) for i in range(8)]
        uart = platform.request("uart", 0, dir="-")
        tx = io.Buffer("o", uart.tx)
        m.submodules += [*leds, *switches, tx]

        count = Signal(27)
        m.d.sync += count.eq(count + 1)
        for i, (led, switch) in enumerate(zip(leds, switches)):
            m.d.comb += led.o.eq(count[26 - i] ^ switch.i)

        m.submodules.uart = uart_tx = UartTx(hz // BAUD)
        m.d.comb += tx.o.eq(uart_tx.tx)
        banner = Array(Const(b, 8) for b in BANNER)
        index = Signal(range(len(BANNER) + 1), init=len(BANNER))
        period = int(hz * self._period_s)
        timer = Signal(range(period))
        m.d.sync += timer.eq(Mux(timer == 0, period - 1, timer - 1))
        with m.If(timer == 0):
            m.d.sync += index.eq(0)
        m.d.comb += [uart_tx.data.valid.eq(index < len(BANNER)),
                     uart_tx.data.payload.eq(banner[index])]
        with m.If(uart_tx.data.valid & uart_tx.data.ready):
            m.d.sync += index.eq(index + 1)
        return m

