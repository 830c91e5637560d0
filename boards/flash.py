"""`make flash`: load a bitstream into the VC709 over its USB-JTAG port, with openFPGALoader
(`-b vc709`) where it is installed, else Vivado's hardware server.

    python -m boards.flash [build/vc709/vc709_eta.bit]
"""

import sys
from pathlib import Path

from amaranth.build.run import LocalBuildProducts

from .vc709 import VC709Platform


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    bit = Path(argv[0] if argv else "build/vc709/vc709_eta.bit")
    if bit.suffix != ".bit" or not bit.is_file():
        sys.exit(f"no bitstream at {bit}: build one first (`make board` on a machine with "
                 f"Vivado), or name it: make flash BIT=path/to/design.bit")
    VC709Platform().toolchain_program(LocalBuildProducts(str(bit.parent)), bit.stem)


if __name__ == "__main__":
    main()
