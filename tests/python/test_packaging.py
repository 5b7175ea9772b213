"""Licensing and packaging facts a redistributor relies on (issue #16, items 2-3): the LICENSE,
the README's account of the GPL modules, and `dsla.features['gpl']` telling a build that links
SuiteSparse's GPL modules (CHOLMOD Supernodal, UMFPACK) from one that does not
(-DDSLA_WITH_GPL=OFF; scripts/test-nodirect.sh builds and tests that one)."""
import pathlib
import re

import dsla

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_license_is_bsd3_for_dsla_code():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("BSD 3-Clause License")
    assert "Redistributions in binary form" in text


def test_readme_explains_the_gpl_modules_and_the_switch():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## License", 1)[1].split("\n## ", 1)[0]
    for needed in ("CHOLMOD Supernodal", "UMFPACK", "GPL-2.0-or-later", "-DDSLA_WITH_GPL=OFF",
                   "features['gpl']", "cmake.define.DSLA_WITH_GPL=OFF"):
        assert needed in section, needed


def test_features_gpl_is_exactly_suitesparse():
    # SuiteSparse is the only GPL code a build can link.
    assert dsla.features["gpl"] == dsla.features["suitesparse"]


def test_gpl_switch_is_declared_in_cmake():
    cml = (ROOT / "CMakeLists.txt").read_text()
    assert re.search(r'option\(DSLA_WITH_GPL ".*" ON\)', cml)
    deps = (ROOT / "cmake" / "DslaDependencies.cmake").read_text()
    assert "if(NOT DSLA_WITH_GPL)" in deps
