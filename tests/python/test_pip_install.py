"""The pip route (issue #16, item 1): `pip wheel .` builds a wheel with scikit-build-core against
the torch of the environment, the wheel installs into a fresh venv, and `import dsla` works from
another directory. One build (the wheel's), in build-pip/ beside build/: with ccache (and
CCACHE_BASEDIR at the checkout, as scripts/build.sh sets it) its objects are build/'s, so it takes
~30 s on 2 cores; a cold cache compiles everything (~15 min): DSLA_SKIP_PIP_TEST=1 skips it."""
import os
import pathlib
import re
import subprocess
import sys
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
WHEELS = ROOT / ".whl" / "build"
REQS = ROOT / "scripts" / "requirements-build.txt"

pytestmark = pytest.mark.skipif(os.environ.get("DSLA_SKIP_PIP_TEST") == "1",
                                reason="DSLA_SKIP_PIP_TEST=1")


def _build_env():
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env.setdefault("CCACHE_BASEDIR", str(ROOT))
    env.setdefault("CMAKE_BUILD_PARALLEL_LEVEL", "1")
    # The compilers of build/ (scikit-build-core would otherwise take sysconfig's, another path
    # to the same g++, and miss ccache).
    cache = ROOT / "build" / "CMakeCache.txt"
    if cache.exists():
        text = cache.read_text()
        for var, key in (("CXX", "CMAKE_CXX_COMPILER"), ("CC", "CMAKE_C_COMPILER")):
            m = re.search(rf"^{key}:FILEPATH=(.+)$", text, re.M)
            if m and var not in os.environ:
                env[var] = m.group(1)
    return env


def _run(cmd, **kw):
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    assert r.returncode == 0, f"{cmd} failed:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"
    return r.stdout


def test_pip_wheel_installs_and_imports(tmp_path):
    if not all(any(WHEELS.glob(f"{line.split('==')[0].replace('-', '_')}-*.whl"))
               for line in REQS.read_text().splitlines() if re.match(r"^[A-Za-z]", line)):
        pytest.skip("build backend wheels missing in .whl/build (run scripts/install-deps.sh)")
    venv = tmp_path / "venv"
    # Debian's torch lives in the system site-packages; a PyPI torch would be pip-installed here.
    _run([sys.executable, "-m", "venv", "--system-site-packages", venv])
    py = venv / "bin" / "python"
    _run([py, "-m", "pip", "install", "-q", "--no-index", "--find-links", WHEELS, "-r", REQS])
    out = tmp_path / "wheels"
    _run([py, "-m", "pip", "wheel", "--no-build-isolation", "--no-index", "--no-deps",
          "-w", out, ROOT], env=_build_env(), cwd=tmp_path)
    wheels = list(out.glob("dsla-*.whl"))
    assert len(wheels) == 1
    names = zipfile.ZipFile(wheels[0]).namelist()
    assert any(re.fullmatch(r"dsla/_C\..*\.so", n) for n in names), names
    assert "dsla/libdsla.so" in names and "dsla/__init__.py" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") or n.endswith(".dist-info/LICENSE")
               for n in names), names
    # Only the package: no headers, CMake files or test binaries in site-packages.
    assert all(n.startswith(("dsla/", "dsla-")) for n in names), names
    # Dependencies (torch, numpy) are satisfied by the system site-packages: nothing downloads.
    _run([py, "-m", "pip", "install", "-q", "--no-index", wheels[0]])
    script = ("import dsla, torch, json; A = dsla.poisson2d(6); b = torch.ones(36, dtype=torch.float64);"
              "x = dsla.solve(A, b, method='cg', rtol=1e-12);"
              "print(json.dumps([dsla.__file__, dsla.__version__, dict(dsla.features),"
              " float((A @ x - b).abs().max())]))")
    import json
    path, version, features, resid = json.loads(
        _run([py, "-c", script], cwd=tmp_path, env={k: v for k, v in os.environ.items()
                                                     if k not in ("PYTHONPATH", "DSLA_C_DIR")}))
    assert path.startswith(str(venv)), path
    import dsla
    assert version == dsla.__version__
    if not os.environ.get("DSLA_C_DIR"):  # else this process runs another build's _C
        assert features == dict(dsla.features)
    assert features["gpl"] == features["suitesparse"]
    assert resid < 1e-10
    cmake_version = re.search(r"project\(dsla VERSION ([0-9.]+)",
                              (ROOT / "CMakeLists.txt").read_text()).group(1)
    assert version == cmake_version
