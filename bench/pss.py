#!/usr/bin/env python3
"""Total PSS of a process tree: the process PID and every descendant.

Usage: pss.py PID  ->  prints JSON {"pid":…, "processes": N, "pss_kib": total}
PSS (proportional set size) shares each page among the processes that map it, so the sum
over a forking server's processes is its real memory cost.
"""
import json
import os
import sys


def children_map():
    kids = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name is in parentheses and may contain spaces.
        rest = stat[stat.rfind(")") + 2:].split()
        ppid = int(rest[1])
        kids.setdefault(ppid, []).append(int(name))
    return kids


def tree(root):
    kids = children_map()
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def pss_kib(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def main():
    root = int(sys.argv[1])
    pids = tree(root)
    total = sum(pss_kib(p) for p in pids)
    print(json.dumps({"pid": root, "processes": len(pids), "pss_kib": total}))


if __name__ == "__main__":
    main()
