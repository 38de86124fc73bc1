#!/usr/bin/env python3
"""check_layers.py - the shim's module graph, rebuilt from its object files, must point
only downward.

Each object file build/obj/LAYER/MODULE.o is a module of a layer (its folder); LAYERS
gives the order, lowest first. For every symbol a module uses and another defines (nm),
there is an edge module -> definer. The check fails on an edge into a higher layer, and
on any cycle among modules, within a layer too. No allowlist.
Prints the layer table and one line per problem; exits 1 if there is any.
"""
import argparse
import collections
import os
import subprocess
import sys


def symbols(obj):
    """(defined, undefined) symbol names of one object file."""
    out = subprocess.run(["nm", obj], capture_output=True, text=True, check=True).stdout
    defined, undefined = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "U":
            undefined.add(parts[1])
        elif len(parts) == 3 and parts[1] in "TDBRVWGSCu" and parts[1] != "U":
            defined.add(parts[2])
    return defined, undefined


def find_cycles(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--layers", required=True, help="layer names, lowest first")
    ap.add_argument("objects", nargs="+")
    a = ap.parse_args()
    order = a.layers.split()
    rank = {name: i for i, name in enumerate(order)}
    modules = {}
    problems = []
    for obj in a.objects:
        layer = os.path.basename(os.path.dirname(obj))
        name = "%s/%s" % (layer, os.path.splitext(os.path.basename(obj))[0])
        if layer not in rank:
            problems.append("%s: not in a layer folder (%s)" % (obj, " ".join(order)))
            continue
        modules[name] = (layer,) + symbols(obj)
    definer = {}
    for name, (layer, defined, _) in modules.items():
        for s in defined:
            definer.setdefault(s, name)
    graph = collections.defaultdict(set)
    why = {}
    for name, (layer, _, undefined) in modules.items():
        graph[name]
        for s in sorted(undefined):
            d = definer.get(s)
            if d and d != name:
                graph[name].add(d)
                why.setdefault((name, d), s)
    for name in sorted(graph):
        for d in sorted(graph[name]):
            if rank[modules[d][0]] > rank[modules[name][0]]:
                problems.append("upward: %s -> %s (%s, layer %s above %s)"
                                % (name, d, why[(name, d)], modules[d][0], modules[name][0]))
    for comp in find_cycles(graph):
        problems.append("cycle: " + " <-> ".join(comp))
    counts = collections.Counter(layer for layer, _, _ in modules.values())
    edges = sum(len(v) for v in graph.values())
    for p in problems:
        print("check-layers: " + p)
    if problems:
        return 1
    print("layers: %s; %d modules, %d edges, all downward, no cycle"
          % (" < ".join("%s (%d)" % (l, counts[l]) for l in order), len(modules), edges))
    return 0


if __name__ == "__main__":
    sys.exit(main())
