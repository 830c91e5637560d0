"""`make lint`: write every module's Verilog (as `hw.generate --all`) and run
`verilator --lint-only -Wall` on each, with the waivers of sim/waivers.vlt.

    python -m sim.lint [--preset vc709|small] [--out build/verilog]
"""

import sys

from hw import generate
from sim.runner import lint

if __name__ == "__main__":
    sys.exit(generate.main(sys.argv[1:] + ["--all"], check=lint))
