# Sphinx configuration of dsla's API reference (built by scripts/docs.sh, warnings are errors).
# The reference is generated from the docstrings of the built package: python/dsla must import.
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "python"))

project = "dsla"
author = "the dsla authors"
copyright = "2026, the dsla authors"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon"]
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
html_theme = "alabaster"
exclude_patterns = ["_build"]
nitpicky = False
