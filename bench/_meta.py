"""What every benchmark's JSON records about where it ran (BENCHMARKS.md, protocol): the
commit, the machine, the command; and where the file goes. One copy for every script.

The commit: ``DSLA_COMMIT`` when set (the GPU machine runs a copy of the checkout whose git HEAD
may be older than the tree it was given), else ``git rev-parse --short HEAD``.
"""
import datetime
import json
import os
import platform
import subprocess
import sys

import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def commit():
    if os.environ.get("DSLA_COMMIT"):
        return os.environ["DSLA_COMMIT"]
    try:
        return subprocess.check_output(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                                       text=True, stderr=subprocess.DEVNULL).strip()
    except Exception:
        return "unknown"


def machine(cuda=False):
    desc = f"{platform.node()} ({os.cpu_count()} CPUs)"
    if cuda and torch.cuda.is_available():
        desc += "; " + torch.cuda.get_device_name(0)
    return desc


def header(bench, cuda=False):
    """The fields every result file starts with."""
    return dict(bench=bench, commit=commit(), torch=torch.__version__, machine=machine(cuda),
                host=platform.node(), cpus=os.cpu_count(), threads=torch.get_num_threads(),
                gpu=torch.cuda.get_device_name(0) if cuda and torch.cuda.is_available() else None,
                date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                command=" ".join(["python3", os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:]))


def write(doc, out, prefix):
    """doc as ``<out>/<prefix>-<UTC time>.json``; returns the path (and prints it)."""
    os.makedirs(out, exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S")
    path = os.path.join(out, f"{prefix}-{stamp}.json")
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
    print(path, flush=True)
    return path
