# amaranth: UnusedElaboratable=no
"""hw.verilog: shared modules written once, in the same text whether converted in one process
or several."""

import re

from hw.ccore import CCore
from hw.config import small
from hw.verilog import to_verilog


def test_forked_conversion_gives_the_same_text():
    cfg = small()
    one = to_verilog(CCore(cfg), "ccore")
    two = to_verilog(CCore(cfg), "ccore", jobs=2)
    assert one == two
    # the C-Core's buffers and array, the array's clusters, their WPUs and PEs: each once,
    # the input and error buffers one module
    # (a block's own submodules are named `\parent.child`, shared modules `base_hash`)
    modules = re.findall(r"^module (\w+)\(", one, re.MULTILINE)
    assert len(modules) == len(set(modules))
    assert sorted(re.sub(r"_[0-9a-f]{8}$", "", m) for m in modules) == sorted(
        ["ccore", "input_buffer", "weight_buffer", "psum_buffer", "ccore_array", "cluster",
         "wpu", "pe"]), modules
