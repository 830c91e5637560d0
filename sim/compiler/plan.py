"""The DRAM plan: every tensor of a training step gets an address, aligned to a line, and a
lifetime; tensors whose lifetimes do not overlap share memory.

While the compiler emits descriptors, their address fields hold `Ref`s (a tensor and a byte
offset); `DramPlan.place` assigns addresses from the lifetimes the references imply, and
`resolve` turns the references into integers.
"""

from dataclasses import dataclass, field, fields, replace

__all__ = ["Tensor", "Ref", "DramPlan"]


@dataclass(eq=False)
class Tensor:
    """A DRAM tensor: name, bytes, kind (for the footprint report), persistent (lives across
    steps: weights, velocities, FRN parameters, the program's inputs and outputs)."""
    name: str
    nbytes: int
    kind: str
    persistent: bool = False
    first: int = None           # descriptor indices of its first and last use
    last: int = None
    addr: int = None
    meta: dict = field(default_factory=dict)

    def ref(self, offset=0, line=False):
        return Ref(self, offset, line)

    def use(self, index):
        self.first = index if self.first is None else min(self.first, index)
        self.last = index if self.last is None else max(self.last, index)


@dataclass(frozen=True, eq=False)
class Ref:
    """A byte offset into a tensor; `line`: the field takes the address in lines."""
    tensor: Tensor
    offset: int = 0
    line: bool = False

    def __add__(self, k):
        return Ref(self.tensor, self.offset + k, self.line)

    def value(self, line_bytes):
        a = self.tensor.addr + self.offset
        if self.line:
            if a % line_bytes:
                raise ValueError(f"{self.tensor.name}+{self.offset} is not on a "
                                 f"{line_bytes}-byte line")
            return a // line_bytes
        return a


def refs_of(desc):
    """(field name, Ref) of a descriptor's address fields."""
    return [(f.name, getattr(desc, f.name)) for f in fields(desc)
            if isinstance(getattr(desc, f.name), Ref)]


def resolve(desc, line_bytes):
    changes = {name: r.value(line_bytes) for name, r in refs_of(desc)}
    return replace(desc, **changes) if changes else desc


class DramPlan:
    """Addresses for tensors from their lifetimes: persistent tensors first, then the rest
    first-fit into the gaps the dead ones leave."""

    def __init__(self, line_bytes, limit):
        self.line = line_bytes
        self.limit = limit
        self.tensors = []

    def tensor(self, name, nbytes, kind, persistent=False, **meta):
        if nbytes <= 0:
            raise ValueError(f"tensor {name}: {nbytes} bytes")
        t = Tensor(name, nbytes, kind, persistent, meta=meta)
        self.tensors.append(t)
        return t

    def _size(self, t):
        return -(-t.nbytes // self.line) * self.line

    def place(self):
        """Assign every tensor an address; returns the footprint in bytes."""
        top = self.line                 # address 0 means "no operand" in A-Core descriptors
        for t in self.tensors:
            if t.persistent:
                t.addr, top = top, top + self._size(t)
        base = top
        live = []                       # (addr, end, last)
        rest = sorted((t for t in self.tensors if not t.persistent and t.first is not None),
                      key=lambda t: (t.first, -t.nbytes))
        high = base
        for t in rest:
            live = [b for b in live if b[2] >= t.first]
            size = self._size(t)
            at, cursor = None, base
            for a, end, _ in sorted(live):
                if a - cursor >= size:
                    at = cursor
                    break
                cursor = max(cursor, end)
            if at is None:
                at = cursor
            t.addr = at
            live.append((at, at + size, t.last))
            high = max(high, at + size)
        for t in self.tensors:
            if t.addr is None:              # declared, never used
                t.addr = high
                high += self._size(t)
        if high > self.limit:
            raise ValueError(f"the step needs {high} bytes of DRAM; the window has "
                             f"{self.limit}")
        self.footprint = high
        return high

    def report(self):
        """[(kind, bytes, tensors)] by kind, and the footprint with and without reuse."""
        kinds = {}
        for t in self.tensors:
            b, n = kinds.get(t.kind, (0, 0))
            kinds[t.kind] = (b + self._size(t), n + 1)
        no_reuse = sum(self._size(t) for t in self.tensors) + self.line
        return sorted(((k, b, n) for k, (b, n) in kinds.items()), key=lambda r: -r[1]), \
            self.footprint, no_reuse
