"""The program's words: every descriptor kind round-trips through its fixed-width word, and
packing and decoding are strict (a field that does not fit, an undefined op, stray bits)."""

import random

import pytest
from amaranth.lib import enum as am_enum

from hw.config import small, vc709
from hw.isa import program as P
from hw.isa.apu import Program
from hw.isa.modes import MODES, Phase
from hw.isa.pack import pack, unpack, width
from hw.isa.tile import Tile, ccore_tile_layout
from sim.compiler import program
from sim.compiler.step import compile_step
from sim.train.net import DIGITS_NET

CFGS = [small(), vc709()]


def _random(rnd, shape):
    """A random value of a field of `shape` (an int range, width, signed or an enum)."""
    from amaranth.hdl import Shape
    if isinstance(shape, type) and issubclass(shape, am_enum.Enum):
        return rnd.choice(list(shape))
    if isinstance(shape, range):
        return rnd.choice([shape.start, shape.stop - 1, rnd.randrange(shape.start, shape.stop)])
    s = Shape.cast(shape)
    lo, hi = (-(1 << (s.width - 1)), (1 << (s.width - 1)) - 1) if s.signed else \
        (0, (1 << s.width) - 1)
    return rnd.choice([lo, hi, rnd.randint(lo, hi)])


def random_descriptor(rnd, cfg, op):
    lay = P.layout(cfg, op)
    head = {"wait": rnd.randrange(16), "signal": rnd.randrange(16)}
    if op in (P.Op.END, P.Op.HOST):
        head = {}
    if op == P.Op.TILE:
        tl = ccore_tile_layout(cfg)
        f = {name: _random(rnd, fl.shape) for name, fl in tl if name != "mode"}
        mode = rnd.choice([m for m in MODES if not (m.phase == Phase.WG and m.k == 1)])
        return P.TileOp(Tile(mode, **f), rnd.randrange(1, 1 << cfg.ibuf_bits), **head)
    if op == P.Op.SYNC:
        return P.Sync(unit_=rnd.choice(list(P.Unit)), **head)
    f = {name: _random(rnd, fl.shape) for name, fl in lay if name not in ("op", "wait",
                                                                          "signal")}
    return P.KINDS[op](**f, **head)


@pytest.mark.parametrize("cfg", CFGS, ids=lambda c: c.name)
def test_every_kind_round_trips(cfg):
    rnd = random.Random(11)
    for op in P.Op:
        for _ in range(50):
            d = random_descriptor(rnd, cfg, op)
            word = P.encode(cfg, d)
            assert 0 <= word < 1 << P.WORD_BITS
            assert P.decode(cfg, word) == d, op


@pytest.mark.parametrize("cfg", CFGS, ids=lambda c: c.name)
def test_a_compiled_program_round_trips_as_bytes(cfg):
    step = compile_step(DIGITS_NET, (1, 8, 8), 2, cfg)
    data = program.encode(step.descs, cfg)
    assert len(data) == len(step.descs) * P.WORD_BYTES
    assert program.decode(data, cfg) == step.descs
    text = program.disassemble(step.descs, cfg, step.meta, step.slots)
    assert len(text.splitlines()) == len(step.descs)
    assert "FRN_FP" in text and "S[conv1.zsf]" in text and "wait" in text


def test_fields_that_do_not_fit_are_named():
    cfg = small().replace(acore=small().acore.__class__(max_n_bits=8), apu_buffer_bits=8)
    with pytest.raises(ValueError, match=r"LOAD.addr = 4294967296 does not fit"):
        P.encode(cfg, P.Load(P.Buf.X, 1 << 32, 8))
    with pytest.raises(ValueError, match=r"SCALE.imm = 2147483648 does not fit"):
        P.encode(cfg, P.Scale(P.ScaleOp.SET, 1, imm=1 << 31))
    with pytest.raises(ValueError, match=r"tile.h = .* does not fit|TILE.tile.h = "):
        P.encode(cfg, P.TileOp(Tile(MODES[0], h=1 << 20, w=1, blocks=1, cb=0, row0=0,
                                    groups=1)))
    with pytest.raises(ValueError, match=r"ACORE.n = 0 is not in \[1, 256\]"):
        P.encode(cfg, P.ACoreRun(Program.SGD, 0))
    with pytest.raises(ValueError, match="no tokens"):
        P.encode(cfg, P.End(wait=P.Unit.LD))


def test_malformed_words_are_refused():
    cfg = small()
    with pytest.raises(ValueError, match="undefined op 9"):
        P.decode(cfg, 9)
    end = P.encode(cfg, P.End())
    with pytest.raises(ValueError, match="bits set beyond"):
        P.decode(cfg, end | 1 << 300)
    with pytest.raises(ValueError, match="whole 64-byte words"):
        program.decode(b"\0" * 65, cfg)
    # An undefined phase inside a TILE word.
    t = P.encode(cfg, P.TileOp(Tile(MODES[0], 4, 4, 1, 0, 0, 1)))
    at = P.layout(cfg, P.Op.TILE)["tile"].offset + ccore_tile_layout(cfg)["mode"].offset
    with pytest.raises(ValueError, match="phase 3"):
        P.decode(cfg, t | 3 << at)


def test_strict_pack_names_missing_and_unknown_fields():
    lay = ccore_tile_layout(small())
    good = Tile(MODES[0], 4, 4, 1, 0, 0, 1).as_dict()
    with pytest.raises(ValueError, match="missing field.*pbase"):
        pack(lay, {k: v for k, v in good.items() if k != "pbase"})
    with pytest.raises(ValueError, match="unknown field.*bogus"):
        pack(lay, dict(good, bogus=1))
    with pytest.raises(ValueError, match=r"mode.phase = 3 is not a Phase"):
        pack(lay, dict(good, mode={"phase": 3, "stride2": 0, "k1": 0}))
    bits = pack(lay, good)
    assert unpack(lay, bits)["h"] == 4 and bits < 1 << width(lay)
