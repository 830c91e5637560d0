"""User configurations for `make verilog`: a preset, a JSON file of fields and key=value
overrides, each value checked, every mistake named."""

import json

import pytest

from hw.config import configure, small


def test_file_and_overrides_apply_over_the_preset():
    cfg = configure("small", json.dumps({"clusters": 3, "acore": {"word_bits": 40}}),
                    ["pe_cols=3", "apus=3", "acore.coef_bits=20"])
    assert (cfg.clusters, cfg.pe_cols, cfg.apus) == (3, 3, 3)
    assert (cfg.acore.word_bits, cfg.acore.coef_bits) == (40, 20)
    assert cfg.ibuf_bits == small().ibuf_bits and cfg.name == "small-custom"
    assert configure("small") == small()


@pytest.mark.parametrize("config,overrides,match", [
    (None, ["clusters=0"], r"EtaConfig.clusters must be in \[1, 64\], not 0"),
    (None, ["bogus=1"], r"unknown configuration field 'bogus'"),
    (None, ["acore.bogus=1"], r"unknown configuration field 'acore.bogus'"),
    (None, ["clusters"], r"an override is key=value"),
    ('{"wpus": 2, "extra": 1}', [], r"unknown configuration field\(s\) \['extra'\]"),
    ("[1, 2]", [], r"a JSON object of fields"),
])
def test_bad_configurations_are_named(config, overrides, match):
    with pytest.raises(ValueError, match=match):
        configure("small", config, overrides)
