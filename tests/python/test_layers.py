"""Layers without loops (issue #13): scripts/check_layers.py passes on the repository, and it
catches each kind of violation on a small made-up tree (so a check that silently finds nothing
cannot pass here)."""
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "check_layers.py"


def run(root):
    p = subprocess.run([sys.executable, str(SCRIPT), "--root", str(root)], capture_output=True,
                       text=True, timeout=120)
    return p.returncode, p.stdout + p.stderr


def write(root, files):
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_repository_has_no_upward_edges_and_no_cycles():
    rc, out = run(ROOT)
    assert rc == 0, "scripts/check_layers.py found layer violations:\n" + out


def test_reports_an_upward_include_with_its_line(tmp_path):
    write(tmp_path, {
        "src/core/a.cpp": '// core\n#include "solve/b.h"\n',
        "src/solve/b.h": "#pragma once\n",
    })
    rc, out = run(tmp_path)
    assert rc == 1
    assert 'src/core/a.cpp:2: #include "solve/b.h"' in out
    assert "a layer above it (a)" in out


def test_reports_a_cycle_between_folders_of_one_layer(tmp_path):
    write(tmp_path, {
        "src/solve/amg/a.h": '#include "solve/precond/b.h"\n',
        "src/solve/precond/b.cpp": '#include "solve/amg/a.h"\n',
        "src/solve/precond/b.h": "#pragma once\n",
    })
    rc, out = run(tmp_path)
    assert rc == 1
    assert "cycle between folders src/solve/amg <-> src/solve/precond" in out
    assert "src/solve/precond/b.cpp:1:" in out and "src/solve/amg/a.h:1:" in out


def test_reports_a_python_circle_hidden_in_a_function(tmp_path):
    write(tmp_path, {
        "python/dsla/__init__.py": "from .sparse_tensor import SparseTensor\n",
        "python/dsla/sparse_tensor.py": ("class SparseTensor:\n"
                                         "    def solve(self, b):\n"
                                         "        from .solve import solve\n"
                                         "        return solve(self, b)\n"),
        "python/dsla/solve.py": ("from . import _C\n\n\n"
                                 "def solve(A, b):\n"
                                 "    from .sparse_tensor import SparseTensor\n"
                                 "    return A\n"),
    })
    rc, out = run(tmp_path)
    assert rc == 1
    assert "cycle between Python modules solve.py <-> sparse_tensor.py" in out
    assert "python/dsla/solve.py:5: from .sparse_tensor import SparseTensor" in out
    assert "python/dsla/sparse_tensor.py:3: from .solve import solve" in out


def test_reports_private_includes_of_public_headers_and_torch_below_core(tmp_path):
    write(tmp_path, {
        "include/dsla/x.h": '#include "core/y.h"\n',
        "src/core/y.h": "#pragma once\n",
        "src/kernels/cpu/k.cpp": "#include <ATen/ATen.h>\n",
        "src/io/r.cpp": "#include <dsla/x.h>\n",
    })
    rc, out = run(tmp_path)
    assert rc == 1
    assert "include/dsla/x.h:1:" in out and "(c)" in out
    assert "src/kernels/cpu/k.cpp:1: #include <ATen/ATen.h>: torch in a torch-free folder" in out
    assert "src/io/r.cpp:1: #include <dsla/x.h>: a torch-free folder includes the public API" in out


def test_reports_cuda_switches_in_code(tmp_path):
    # Device choice is a registration: an #if DSLA_HAVE_CUDA (or any use in code) fails; a
    # mention in a comment does not.
    write(tmp_path, {
        "src/core/a.cpp": "// DSLA_HAVE_CUDA is for the build files\nint a;\n",
        "src/solve/b.cpp": "#if DSLA_HAVE_CUDA\nint b;\n#endif\n",
    })
    rc, out = run(tmp_path)
    assert rc == 1
    assert "src/solve/b.cpp:1: #if DSLA_HAVE_CUDA: DSLA_HAVE_CUDA in code (e)" in out
    assert "src/core/a.cpp" not in out
