"""Checks a board build plan without Vivado: the top's ports against the XDC it reads, the
files its Tcl names against the plan.

- every bit of every top-level port has a pin, and no pin is used twice;
- every port bit that is not a transceiver pin (`GT_PINS`) has an I/O standard, and the
  standard suits the supply of its pin's bank (`BANK_VCCO`; an LVDS input suits any);
- every clock input of the platform that is a port has a `create_clock`;
- every file the Tcl reads (`add_files`, `read_xdc`, and the files named in the
  `script_after_read` hook) is in the plan.

    problems = check_plan(plan.files, "vc709_eta", clock_ports(platform))   # [] when good
"""

import re

from amaranth.build import DiffPairs, Pins, Resource, Subsignal

from .vc709 import BANK_VCCO, GT_PINS

__all__ = ["check_plan", "clock_ports", "top_ports", "xdc_constraints"]

# The bank supply an I/O standard needs.
VCCO = {"LVCMOS18": 1.8, "LVCMOS15": 1.5, "LVCMOS25": 2.5, "LVCMOS33": 3.3, "LVDS": 1.8,
        "LVDS_25": 2.5, "SSTL15": 1.5, "SSTL15_T_DCI": 1.5, "DIFF_SSTL15": 1.5,
        "DIFF_SSTL15_T_DCI": 1.5, "HSTL_I_18": 1.8, "DIFF_HSTL_I_18": 1.8}
_ANY_SUPPLY_INPUTS = {"LVDS"}          # 7-series HP banks take LVDS inputs at any VCCO

_PORT = re.compile(r"^\s*(input|output|inout)\s+(?:\[(\d+):(\d+)\]\s+)?([\w$]+)\s*;", re.M)
_GET_PORTS = r"\[get_ports\s+(?:\"([^\"]+)\"|\{([^}]+)\}|(\S+?))\]"
_PROP = re.compile(r"^\s*set_property\s+(LOC|PACKAGE_PIN|IOSTANDARD)\s+\"?([\w.]+)\"?\s+"
                   + _GET_PORTS, re.M)
_CLOCK = re.compile(r"^\s*create_clock\b.*"
                    + _GET_PORTS.replace("get_ports", "get_(?:ports|nets)"), re.M)


def _port_name(groups):
    name = next(g for g in groups if g)
    return name.replace("\\[", "[").replace("\\]", "]").strip()


def top_ports(verilog, top):
    """{port bit name: direction} of module `top` (`name[i]` for vectors)."""
    start = re.search(rf"^module\s+{re.escape(top)}\s*\(", verilog, re.M)
    if not start:
        raise ValueError(f"no module {top} in the top's Verilog")
    body = verilog[start.end():verilog.index("endmodule", start.end())]
    bits = {}
    for direction, msb, lsb, name in _PORT.findall(body):
        if msb:
            lo, hi = sorted((int(msb), int(lsb)))
            bits.update({f"{name}[{i}]": direction for i in range(lo, hi + 1)})
        else:
            bits[name] = direction
    return bits


def xdc_constraints(texts):
    """(pins {port bit: [pins]}, standards {port bit: standard}, clocked {port}) of XDCs."""
    pins, standards, clocked = {}, {}, set()
    for text in texts:
        for prop, value, *groups in _PROP.findall(text):
            port = _port_name(groups)
            if prop == "IOSTANDARD":
                standards[port] = value
            else:
                pins.setdefault(port, []).append(value)
        clocked |= {_port_name(g) for g in _CLOCK.findall(text)}
    return pins, standards, clocked


def clock_ports(platform):
    """The top-level port names of the platform's clock inputs (resources or subsignals
    with a `Clock`), as Amaranth names them: `<resource>_<n>__p` or `__io`."""
    out = []

    def walk(node, path):
        clock = node.clock is not None
        for io in node.ios:
            if isinstance(io, Subsignal):
                walk(io, path + [io.name])
            elif clock:
                out.append("__".join(path) + ("__p" if isinstance(io, DiffPairs) else "__io"))
            elif not isinstance(io, (Pins, DiffPairs)):
                raise TypeError(f"unexpected {io!r} in {path}")

    for (name, number), res in platform.resources.items():
        assert isinstance(res, Resource)
        walk(res, [f"{name}_{number}"])
    return out


def check_plan(files, top, clocks, hook=""):
    """Problems (strings) of plan `files` ({name: text}) for top module `top`; `clocks`: the
    clock input ports (`clock_ports`); `hook`: the Tcl run after the sources are read."""
    problems = []
    ports = top_ports(files[f"{top}.v"], top)
    xdcs = [text for name, text in files.items() if name.endswith(".xdc")]
    pins, standards, clocked = xdc_constraints(xdcs)
    users = {}
    for port, direction in ports.items():
        if port not in pins:
            problems.append(f"port {port} has no pin")
            continue
        if len(set(pins[port])) > 1:
            problems.append(f"port {port} is on pins {sorted(set(pins[port]))}")
        pin = pins[port][-1]
        users.setdefault(pin, []).append(port)
        if pin in GT_PINS:
            continue
        std = standards.get(port)
        if std is None:
            problems.append(f"port {port} (pin {pin}) has no I/O standard")
        elif std not in VCCO:
            problems.append(f"port {port}: I/O standard {std} is not one this check knows")
        elif pin not in BANK_VCCO:
            problems.append(f"port {port}: the bank supply of pin {pin} is unknown")
        elif VCCO[std] != BANK_VCCO[pin] and not (direction == "input"
                                                 and std in _ANY_SUPPLY_INPUTS):
            problems.append(f"port {port}: {std} needs a {VCCO[std]} V bank; pin {pin}'s "
                            f"bank is at {BANK_VCCO[pin]} V")
    for pin, who in sorted(users.items()):
        if len(who) > 1:
            problems.append(f"pin {pin} is used by {', '.join(sorted(who))}")
    stray = sorted(set(pins) - set(ports))
    if stray:
        problems.append(f"pins constrained for ports the top lacks: {', '.join(stray[:5])}")
    for port in clocks:
        if port in ports and port not in clocked:
            problems.append(f"clock input {port} has no create_clock")
    tcl = files[f"{top}.tcl"] + "\n" + hook
    for name in re.findall(r"^\s*(?:add_files|read_xdc)\s+(?:-\S+\s+)*[\"{]?([^\s}\"]+)", tcl,
                           re.M) + re.findall(r"file normalize \{([^}]+)\}", tcl):
        if name.startswith(("[", "$")):
            continue
        if name not in files and f"the Tcl reads {name}, which the plan lacks" not in problems:
            problems.append(f"the Tcl reads {name}, which the plan lacks")
    return problems
