#!/usr/bin/env python3
"""Checks that dsla's layers have no loops: data flows down, never up (../shared/DESIGN.md).

C++: every `#include "..."` / `#include <dsla/...>` of src/ and include/ becomes an edge from the
including file's folder to the included file's folder. Python: every import inside python/dsla
(function-local ones too: they hide a circle from the interpreter, not from the design) becomes
an edge between modules. The check fails (exit 1), printing each offending edge as file:line, on

  (a) an edge that goes up a layer (LAYERS below, top to bottom),
  (b) a cycle between folders (C++) or between modules (python/dsla),
  (c) a public header (include/dsla) that includes anything outside include/dsla,
  (d) torch in a torch-free folder (src/io, src/kernels: raw pointers and std only),
  (e) DSLA_HAVE_CUDA in code under src/ or include/: device choice is a registration
      (src/core/device_stub.h, the *_cuda.cpp rule); only the build files decide,
  (f) a file under src/ or include/ in no known folder, or a quoted include that resolves nowhere.

Usage: scripts/check_layers.py [--root DIR] [--graph]   (--graph prints the folder graph)
Standard library only: it runs before anything is built.
"""
import argparse
import ast
import os
import re
import sys
from collections import defaultdict

# Top to bottom. A folder may include its own layer's folders (a cycle between them still
# fails) and any layer below it, never one above. Folders not listed belong to the closest listed
# parent (src/solve/amg is in "solve").
LAYERS = [
    ("python", ["python/dsla"]),
    # Two users of the public API, side by side (neither includes the other).
    ("users", ["src/bindings", "src/cli"]),
    # The public API: declared here, implemented by the layers below, so every layer may include
    # it (edges into include/dsla are not "up"); it includes only itself (rule c).
    ("api", ["include/dsla"]),
    ("autograd", ["src/autograd"]),
    # Distributed matrices run src/solve's methods and preconditioners on a distributed operator;
    # src/solve knows them only as a LinearOperator / VectorSpace (nothing there includes dist).
    ("dist", ["src/dist"]),
    ("solve", ["src/solve"]),
    ("core", ["src/core"]),
    # Torch-free, side by side: Matrix Market IO and the raw-pointer kernels (cuda may use cpu).
    ("base", ["src/io", "src/kernels/cpu", "src/kernels/cuda"]),
]
TORCH_FREE = ["src/io", "src/kernels"]
TORCH_HEADERS = re.compile(r"^(ATen|c10|torch|caffe2)/")
# Generated into the build tree (cmake/config.h.in): the build's feature flags, below every layer.
GENERATED = {"dsla/config.h"}

# Compiled modules of python/dsla: src/bindings, the layer below the Python package.
EXTENSIONS = {"_C"}
CPP_EXT = (".h", ".hpp", ".cpp", ".cc", ".cu", ".cuh")
INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def layer_of(folder):
    """(rank, layer name) of a folder: rank 0 is the top."""
    best = None
    for rank, (name, folders) in enumerate(LAYERS):
        for f in folders:
            if (folder == f or folder.startswith(f + "/")) and (best is None or len(f) > best[2]):
                best = (rank, name, len(f))
    return None if best is None else best[:2]


def source_files(root, top, exts):
    for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for fn in sorted(filenames):
            if fn.endswith(exts):
                yield os.path.relpath(os.path.join(dirpath, fn), root).replace(os.sep, "/")


class Edge:
    def __init__(self, src, line, dst, text):
        self.src, self.line, self.dst, self.text = src, line, dst, text

    def __str__(self):
        return f"{self.src}:{self.line}: {self.text}"


def cpp_edges(root, problems):
    """Edges file -> included file (paths relative to root) of src/ and include/."""
    edges = []
    for top in ("src", "include"):
        for path in source_files(root, top, CPP_EXT):
            with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
                for n, line in enumerate(f, 1):
                    m = INCLUDE_RE.match(line)
                    if not m:
                        continue
                    quoted, name = m.group(1) == '"', m.group(2)
                    text = line.strip()
                    if TORCH_HEADERS.match(name):
                        edges.append(Edge(path, n, "<torch>", text))
                        continue
                    if name in GENERATED:
                        continue
                    if not quoted and not name.startswith("dsla/"):
                        continue  # system and third-party headers
                    # As the compiler looks: beside the file (quotes only), then src/, include/.
                    here = os.path.dirname(path)
                    bases = ([here] if quoted else []) + ["src", "include"]
                    for base in bases:
                        cand = os.path.normpath(os.path.join(base, name)).replace(os.sep, "/")
                        if os.path.isfile(os.path.join(root, cand)):
                            edges.append(Edge(path, n, cand, text))
                            break
                    else:
                        problems.append(f"{path}:{n}: {text}: resolves to no file under "
                                        "src/ or include/")
    return edges


def python_edges(root):
    """Edges module file -> module file inside python/dsla, function-local imports included."""
    pkg = "python/dsla"
    modules = {os.path.splitext(os.path.basename(p))[0]: p
               for p in source_files(root, pkg, (".py",)) if "/" not in p[len(pkg) + 1:]}

    def target(dotted):
        # "dsla" is the package (its __init__); "dsla.x" is module x when python/dsla/x.py
        # exists (dsla._C, the extension, is the bindings layer below: not an edge here).
        parts = dotted.split(".")
        if parts[0] != "dsla" or (len(parts) > 1 and parts[1] in EXTENSIONS):
            return None
        if len(parts) == 1:
            return modules.get("__init__")
        return modules.get(parts[1])

    edges = []
    for name, path in sorted(modules.items()):
        with open(os.path.join(root, path), encoding="utf-8") as f:
            source = f.read()
        tree = ast.parse(source, path)
        package = "dsla"
        for node in ast.walk(tree):
            found = []
            if isinstance(node, ast.Import):
                found = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package if node.level == 1 else None
                    if base is None:
                        continue
                    mod = base + ("." + node.module if node.module else "")
                else:
                    mod = node.module or ""
                if mod == "dsla":  # from . import x: x is a module, the extension, or a name
                    found = ["dsla." + a.name if a.name in modules or a.name in EXTENSIONS
                             else "dsla" for a in node.names]
                else:
                    found = [mod]
            for dotted in found:
                dst = target(dotted)
                if dst and dst != path:
                    text = ast.get_source_segment(source, node)
                    edges.append(Edge(path, node.lineno, dst, (text or "import").split("\n")[0]))
    return edges


def cycles(nodes_of_edge, edges):
    """Strongly connected components (Tarjan) with more than one node, with their edges."""
    graph = defaultdict(set)
    for e in edges:
        a, b = nodes_of_edge(e)
        if a != b:
            graph[a].add(b)
            graph.setdefault(b, set())
    index, low, stack, on, comps = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(comp)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    out = []
    for comp in comps:
        inside = [e for e in edges if nodes_of_edge(e)[0] in comp and nodes_of_edge(e)[1] in comp
                  and nodes_of_edge(e)[0] != nodes_of_edge(e)[1]]
        out.append((sorted(comp), inside))
    return out


def folder(path):
    return os.path.dirname(path)


HAVE_CUDA = re.compile(r"\bDSLA_HAVE_CUDA\b")


def cuda_switches(root):
    """(file:line, text) of every use of DSLA_HAVE_CUDA in code (comments stripped)."""
    out = []
    for top in ("src", "include"):
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for f in sorted(files):
                if not f.endswith(CPP_EXT):
                    continue
                path = os.path.join(dirpath, f)
                rel = os.path.relpath(path, root)
                with open(path, encoding="utf-8", errors="replace") as fh:
                    for i, line in enumerate(fh, 1):
                        code = line.split("//", 1)[0]
                        if HAVE_CUDA.search(code):
                            out.append((f"{rel}:{i}", line.strip()))
    return out


def check(root, show_graph=False):
    problems = []
    for where, text in cuda_switches(root):
        problems.append(f"{where}: {text}: DSLA_HAVE_CUDA in code (e): register the CUDA half "
                        "in a *_cuda.cpp through a device::Stub (src/core/device_stub.h)")
    edges = cpp_edges(root, problems)
    kept = []  # edges that count for cycles
    for e in edges:
        src_folder = folder(e.src)
        src_layer = layer_of(src_folder)
        if src_layer is None:
            problems.append(f"{e.src}: in no layer: add its folder to LAYERS in "
                            "scripts/check_layers.py")
            continue
        if e.dst == "<torch>":
            if any(src_folder == t or src_folder.startswith(t + "/") for t in TORCH_FREE):
                problems.append(f"{e}: torch in a torch-free folder (d)")
            continue
        dst_folder = folder(e.dst)
        dst_layer = layer_of(dst_folder)
        if dst_layer is None:
            problems.append(f"{e.dst}: in no layer: add its folder to LAYERS")
            continue
        if src_layer[1] == "api" and dst_layer[1] != "api":
            problems.append(f"{e}: a public header includes {dst_folder} (c): public headers "
                            "are installed and may include only include/dsla")
            continue
        if any(src_folder == t or src_folder.startswith(t + "/") for t in TORCH_FREE) \
                and dst_layer[1] == "api":
            problems.append(f"{e}: a torch-free folder includes the public API (d)")
            continue
        up = dst_layer[0] < src_layer[0] and dst_layer[1] != "api"
        if up:
            problems.append(f"{e}: {src_folder} ({src_layer[1]}) includes {dst_folder} "
                            f"({dst_layer[1]}), a layer above it (a)")
            continue
        kept.append(e)

    for comp, inside in cycles(lambda e: (folder(e.src), folder(e.dst)), kept):
        lines = "\n".join(f"    {e}" for e in inside)
        problems.append(f"cycle between folders {' <-> '.join(comp)} (b):\n{lines}")

    py = python_edges(root)
    for comp, inside in cycles(lambda e: (e.src, e.dst), py):
        lines = "\n".join(f"    {e}" for e in inside)
        names = " <-> ".join(os.path.basename(c) for c in comp)
        problems.append(f"cycle between Python modules {names} (b):\n{lines}")

    if show_graph:
        graph = defaultdict(int)
        for e in kept:
            if folder(e.src) != folder(e.dst):
                graph[(folder(e.src), folder(e.dst))] += 1
        for (a, b), n in sorted(graph.items()):
            print(f"{a} -> {b} ({n})")
        for e in sorted({(e.src, e.dst) for e in py}):
            print(f"{e[0]} -> {e[1]}")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=os.path.join(os.path.dirname(__file__), ".."))
    ap.add_argument("--graph", action="store_true", help="print the folder and module graph")
    args = ap.parse_args()
    problems = check(os.path.abspath(args.root), args.graph)
    for p in problems:
        print(p)
    if problems:
        print(f"check_layers: {len(problems)} problem(s); the layer order is "
              + " > ".join(name for name, _ in LAYERS))
        return 1
    print("check_layers: no upward edges, no cycles (" + " > ".join(n for n, _ in LAYERS) + ")")
    return 0


if __name__ == "__main__":
    sys.exit(main())
