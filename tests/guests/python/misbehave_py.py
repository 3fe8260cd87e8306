"""`misbehave-py`: a Python trait that tries, on request, what a definition must not get
away with, or reports what it saw. tests/e2e/python_guests.rs renders it; the Rust twin of
most modes is ../misbehave.

Modes: ok, loop, memory, log (KiB of stderr), sleep (seconds), clock (clocks, randomness
and the hash seed), state (module state across calls), raise (an unexpected exception),
field (an error naming a parameter), nan (output that is not JSON).
"""

import os
import random
import sys
import time
import uuid
from dataclasses import dataclass
from typing import Literal, Optional

from kiln_sdk import Error, TraitContext, TraitOutput, trait

Mode = Literal["ok", "loop", "memory", "log", "sleep", "clock", "state", "raise", "field", "nan"]

SEEN: list = []


@dataclass
class Params:
    mode: Mode
    """What to do."""

    kib: Optional[int] = None
    """log: how much stderr to write."""

    seconds: Optional[int] = None
    """sleep: how long to ask for."""


def report(name: str, data: dict) -> TraitOutput:
    return TraitOutput().with_output(name, {"apiVersion": "v1", "kind": "ConfigMap", "data": data})


@trait(name="misbehave-py", version="0.1.0")
def misbehave(params: Params, ctx: TraitContext) -> TraitOutput:
    """Misbehaves on request (Kiln's own tests)."""
    mode = params.mode
    if mode == "loop":
        while True:
            pass
    if mode == "memory":
        hoard = []
        while True:
            hoard.append(bytearray(1 << 20))
    if mode == "log":
        line = "x" * 1023
        for _ in range(params.kib or 1024):
            print(line, file=sys.stderr)
        return TraitOutput()
    if mode == "sleep":
        time.sleep(params.seconds or 3600)
        return TraitOutput()
    if mode == "clock":
        now, start = time.time(), time.monotonic()
        return report(
            "clock",
            {
                "now": repr(now),
                "elapsed": repr(time.monotonic() - start),
                "random": repr(random.random()),
                "urandom": os.urandom(8).hex(),
                "uuid": str(uuid.uuid4()),
                "hash": str(hash("kiln")),
            },
        )
    if mode == "state":
        SEEN.append(ctx.component_name)
        return report("state", {"calls": str(len(SEEN)), "seen": ",".join(SEEN)})
    if mode == "raise":
        return report("ratio", {"value": str(1 / len(SEEN))})
    if mode == "field":
        raise Error.field("seconds", "misbehave-py was asked to refuse this field")
    if mode == "nan":
        return report("nan", {"value": float("nan")})
    return TraitOutput()


from kiln_sdk.guest import WitWorld  # noqa: E402,F401  the component's exports
