# amaranth: UnusedElaboratable=no
"""hw.verilog: shared modules written once, in the same text whether converted in one process
or several."""

import json
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


def test_reuse_cache_gives_the_same_text_and_is_read(tmp_path, monkeypatch):
    cfg = small()
    monkeypatch.delenv("ETA_REUSE_CACHE", raising=False)
    plain = to_verilog(CCore(cfg), "ccore")
    cached = to_verilog(CCore(cfg), "ccore", cache=tmp_path)
    assert cached == plain
    # The C-Core names its three buffers and the array; the array's subtree holds the rest.
    files = sorted(tmp_path.glob("*.json"))
    assert len(files) == 4, files
    array = next(f for f in files if f.name.startswith("ccore_array_"))
    tree = json.loads(array.read_text())
    assert [re.sub(r"_[0-9a-f]{8}$", "", n) for n, _ in tree] == ["ccore_array", "cluster",
                                                                   "wpu", "pe"]
    # A later conversion takes the modules from the cache, not from Amaranth.
    tree[-1][1] = "// from the cache\n" + tree[-1][1]
    array.write_text(json.dumps(tree))
    again = to_verilog(CCore(cfg), "ccore", cache=tmp_path)
    assert again == plain.replace(tree[-1][1][len("// from the cache\n"):], tree[-1][1])
    assert "// from the cache" in again
