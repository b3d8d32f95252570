"""axe-core, the accessibility checker the browser census injects into every page.

It comes from the npm registry (`npm pack axe-core@AXE_VERSION`), pinned, and is kept in a
cache directory outside the repository, so that a run downloads it once per version:

    python tests/axe_support.py     # fetch it if missing and print its path (scripts/test.sh)

AXE_CORE_JS names a ready axe.min.js instead (a machine without npm or network).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

AXE_VERSION = "4.14.1"
# The WCAG 2.0 and 2.1 levels A and AA: what issue 19 asks of every page.
AXE_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")


def axe_cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "dutyline" / f"axe-core-{AXE_VERSION}"


def ensure_axe() -> Path:
    """Return the path of axe.min.js, fetching the pinned package with npm when it is missing.

    Raises:
        RuntimeError: neither AXE_CORE_JS nor the cache has it, and npm could not fetch it.
    """
    named = os.environ.get("AXE_CORE_JS")
    if named:
        return Path(named)
    target = axe_cache_dir() / "axe.min.js"
    if target.exists():
        return target
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("axe-core is not cached and npm is not installed; "
                           "install npm or set AXE_CORE_JS to an axe.min.js")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="axe-") as tmp:
        done = subprocess.run([npm, "pack", f"axe-core@{AXE_VERSION}", "--silent",
                               "--pack-destination", tmp], capture_output=True, text=True,
                              timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"npm pack axe-core@{AXE_VERSION} failed: {done.stderr.strip()}")
        (archive,) = Path(tmp).glob("axe-core-*.tgz")
        with tarfile.open(archive) as tar:
            member = tar.extractfile("package/axe.min.js")
            partial = target.with_suffix(".part")
            partial.write_bytes(member.read())
        partial.replace(target)  # whole or not at all: a cut download is never used
    return target


if __name__ == "__main__":
    try:
        print(ensure_axe())
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        sys.exit(1)
