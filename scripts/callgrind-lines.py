#!/usr/bin/env python3
"""Instructions per source line inside one function of a callgrind profile (issue 18).

valgrind 3.19 cannot read the DWARF of a Swift 6 release build ("Possibly corrupted debuginfo file"), so
callgrind_annotate shows functions only. This maps callgrind's per-instruction counts to source lines with
`objdump -l` on the unstripped binary instead:

    VALGRIND_OPTS=--dump-instr=yes KEEP=1 scripts/callgrind-serving.sh
    scripts/callgrind-lines.py WORK/fleetnode.callgrind .build/release/fleetnode \\
        '$s4Node11ReceiveLoopV7process33_...countySi_tF' [ANSWERS]

The function is named by its full mangled symbol (as callgrind_annotate prints it); its address range comes
from `nm`. Prints the function's self instructions per source line, per answer when ANSWERS is given
(default 4000, the script's REQUESTS).
"""
import collections
import re
import subprocess
import sys


def self_costs(path, symbol):
    """Self instructions by address of `symbol` (callgrind format with `positions: instr line`)."""
    cost = collections.Counter()
    names = {}
    inside = False
    position = 0
    skip = False
    for line in open(path):
        line = line.rstrip("\n")
        if line.startswith("cfn="):
            match = re.match(r"cfn=\((\d+)\) (.*)", line)
            if match:
                names[match.group(1)] = match.group(2)
            continue
        if line.startswith("fn="):
            match = re.match(r"fn=\((\d+)\)(?: (.*))?", line)
            if match:
                if match.group(2):
                    names[match.group(1)] = match.group(2)
                name = names.get(match.group(1), "")
            else:
                name = line[3:]
            inside = name == symbol
            continue
        if line.startswith("calls="):
            skip = True  # the next line is the call's inclusive cost, not self cost
            continue
        if not line or line[0] not in "0123456789+-*":
            continue
        parts = line.split()
        token = parts[0]
        if token.startswith("0x"):
            position = int(token, 16)
        elif token[0] in "+-":
            step = int(token[1:], 16) if token[1:].startswith("0x") else int(token[1:])
            position += step if token[0] == "+" else -step
        if skip:
            skip = False
            continue
        if inside and len(parts) > 2:
            cost[position] += int(parts[2])
    return cost


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    profile, binary, symbol = sys.argv[1:4]
    answers = int(sys.argv[4]) if len(sys.argv) > 4 else 4000
    symbols = subprocess.run(["nm", binary], capture_output=True, text=True, check=True).stdout.split("\n")
    defined = [line.split(" ", 2) for line in symbols if re.match(r"^[0-9a-f]+ [tTwW] ", line)]
    addresses = sorted({int(fields[0], 16) for fields in defined})
    start = next(int(fields[0], 16) for fields in defined if fields[2] == symbol)
    stop = next(address for address in addresses if address > start)
    cost = self_costs(profile, symbol)
    listing = subprocess.run(
        ["objdump", "-d", "-l", "--no-show-raw-insn", f"--start-address={hex(start)}", f"--stop-address={hex(stop)}", binary],
        capture_output=True, text=True, check=True).stdout
    source = "?"
    by_line = collections.Counter()
    for line in listing.split("\n"):
        if re.match(r"^/.*:\d+", line):
            source = line.split("/")[-1].split()[0]
        match = re.match(r"^\s+([0-9a-f]+):", line)
        if match and int(match.group(1), 16) in cost:
            by_line[source] += cost[int(match.group(1), 16)]
    total = sum(cost.values())
    print(f"{symbol}: {total:,} self instructions, {total / answers:.0f} per answer")
    for source, count in by_line.most_common(40):
        print(f"{count:12,} {count / answers:8.1f}  {source}")


if __name__ == "__main__":
    main()
