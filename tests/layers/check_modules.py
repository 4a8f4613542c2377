#!/usr/bin/env python3
"""Fails when the modules of a crate import each other in a circle.

Usage: check_modules.py SRC_DIR [SRC_DIR ...]   (for example core/src ffi/src)

Each `.rs` file is a module (`mod.rs` and `lib.rs` name their folder). A module depends
on another when it names it: `crate::a::b` or `super::b` paths, in `use` items or in
code. Test code counts too. A dependency from a module to one of its own submodules or
ancestors is not counted: a parent declares its children, and a child may use what its
parent defines for it. Any other circle is reported with the imports that close it, at
three levels: between files, between the folders one level down (`tensor::device`),
and between the crate's top-level modules (`tensor`, `checkpoint`), which are its
layers.
"""
import os
import re
import sys
from collections import defaultdict


def modules(root):
    found = {}
    for folder, _, names in os.walk(root):
        for name in names:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(folder, name)
            parts = os.path.relpath(path, root)[:-3].split(os.sep)
            if parts[-1] in ("mod", "lib", "main"):
                parts = parts[:-1]
            found[tuple(parts)] = path
    return found


def resolve(found, segments):
    """The longest prefix of `segments` that names a module."""
    for k in range(len(segments), 0, -1):
        if tuple(segments[:k]) in found:
            return tuple(segments[:k])
    return None


def related(a, b):
    """One is an ancestor of the other (or they are the same)."""
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def dependencies(found):
    edges = defaultdict(dict)
    for module, path in found.items():
        with open(path, encoding="utf-8") as f:
            text = re.sub(r"//[^\n]*", "", f.read())
        is_folder = os.path.basename(path) in ("mod.rs", "lib.rs", "main.rs")
        here = list(module) if is_folder else list(module[:-1])
        for line_no, line in enumerate(text.split("\n"), 1):
            for m in re.finditer(r"\bcrate::((?:\w+::)*\w+)", line):
                target = resolve(found, m.group(1).split("::"))
                if target is not None and not related(module, target):
                    edges[module].setdefault(target, (path, line_no))
            for m in re.finditer(r"\b((?:super::)+)((?:\w+::)*\w+)", line):
                ups = m.group(1).count("super::")
                base = here[: len(here) - (ups - 1)] if ups > 1 else here
                target = resolve(found, base + m.group(2).split("::"))
                if target is not None and not related(module, target):
                    edges[module].setdefault(target, (path, line_no))
            for m in re.finditer(r"\bself::((?:\w+::)*\w+)", line):
                if is_folder:
                    target = resolve(found, list(module) + m.group(1).split("::"))
                    if target is not None and not related(module, target):
                        edges[module].setdefault(target, (path, line_no))
    return edges


def circles(found, edges):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []
    counter = [0]
    sys.setrecursionlimit(100000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(found):
        if v not in index:
            visit(v)
    return out


def collapse(found, edges, depth):
    """The graph with every module replaced by its ancestor `depth` levels down."""
    cut = lambda m: m[:depth]
    outer = {cut(m): None for m in found}
    outer_edges = defaultdict(dict)
    for a, targets in edges.items():
        for b, where in targets.items():
            if not related(cut(a), cut(b)):
                outer_edges[cut(a)].setdefault(cut(b), where)
    return outer, outer_edges


def main(roots):
    failed = False
    for root in roots:
        found = modules(root)
        edges = dependencies(found)
        found_circles = circles(found, edges)
        for depth in (2, 1):
            outer, outer_edges = collapse(found, edges, depth)
            edges_of_depth = outer_edges
            for component in circles(outer, outer_edges):
                found_circles.append(component)
                for a in component:
                    edges.setdefault(a, {}).update(edges_of_depth[a])
        name = lambda m: "::".join(m) or "(crate root)"
        for component in found_circles:
            failed = True
            print(f"{root}: modules import each other in a circle: "
                  + ", ".join(name(m) for m in component))
            members = set(component)
            for a in component:
                for b, (path, line) in sorted(edges[a].items()):
                    if b in members:
                        print(f"  {name(a)} -> {name(b)}  ({path}:{line})")
        if not found_circles:
            print(f"{root}: {len(found)} modules, no import circle")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["core/src", "ffi/src", "cuda/src"]))
