"""Install Vosk models: download from the Vosk model site, or unpack a local zip.

Integrity: every member's CRC is checked (zipfile.testzip) and the unpacked folder must be
a loadable Vosk layout. A SHA-256 is verified when one is known: passed with --sha256, or
pinned in PINNED_SHA256. We pin only digests we have verified ourselves; none are pinned
yet because this project's build machines cannot reach the model site.
"""
from __future__ import annotations

import hashlib
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Callable

import requests

from intake.store.settings import DEFAULT_MODEL_SITE as MODEL_SITE
from intake.store.settings import MODEL_NAMES
PINNED_SHA256: dict[str, str] = {}
DOWNLOAD_TIMEOUT = (10, 60)
CHUNK_BYTES = 1 << 20
# on_progress(bytes_done, bytes_total); the total is None when the site does not say.
ProgressCallback = Callable[[int, "int | None"], None]


class ModelInstallError(Exception):
    """The model could not be installed; the message says why."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def install_model_zip(zip_path: str | Path, target_root: Path, expected_sha256: str | None = None,
                      name: str | None = None) -> Path:
    """Unpack a model zip into target_root after checking it; return the model folder."""
    zip_path = Path(zip_path)
    actual = sha256_of(zip_path)
    expected = expected_sha256 or PINNED_SHA256.get(name or zip_path.stem)
    if expected and actual != expected.lower():
        raise ModelInstallError(f"checksum mismatch for {zip_path.name}: {actual} != {expected}")
    try:
        with zipfile.ZipFile(zip_path) as archive:
            bad = archive.testzip()
            if bad is not None:
                raise ModelInstallError(f"{zip_path.name} is damaged at {bad}")
            roots = {member.split("/", 1)[0] for member in archive.namelist() if member.strip("/")}
            target_root.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=target_root) as staging:
                archive.extractall(staging)
                folder = Path(staging) / roots.pop() if len(roots) == 1 else Path(staging)
                if not (folder / "am").is_dir() or not (folder / "conf").is_dir():
                    raise ModelInstallError(f"{zip_path.name} does not hold a Vosk model")
                destination = target_root / (name or folder.name)
                if destination.exists():
                    shutil.rmtree(destination)
                shutil.move(str(folder), destination)
    except zipfile.BadZipFile as exc:
        raise ModelInstallError(f"{zip_path.name} is not a zip file") from exc
    (destination / "SHA256").write_text(actual + "\n")
    return destination


def model_zip_url(language: str, site: str = MODEL_SITE) -> str:
    """Return where the language's model zip is published."""
    return f"{site.rstrip('/')}/{MODEL_NAMES[language]}.zip"


def download_model(language: str, target_root: Path, expected_sha256: str | None = None,
                   site: str = MODEL_SITE,
                   on_progress: ProgressCallback | None = None) -> Path:
    """Download the language's small model from `site` and install it.

    Raises:
        ModelInstallError: the site could not be reached, or the zip is not a good model.
    """
    name = MODEL_NAMES[language]
    url = model_zip_url(language, site)
    target_root.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target_root, suffix=".zip") as tmp:
        try:
            with requests.get(url, stream=True, timeout=DOWNLOAD_TIMEOUT) as response:
                response.raise_for_status()
                declared = response.headers.get("Content-Length", "")
                total = int(declared) if declared.isdigit() else None
                done = 0
                for chunk in response.iter_content(CHUNK_BYTES):
                    tmp.write(chunk)
                    done += len(chunk)
                    if on_progress is not None:
                        on_progress(done, total)
        except requests.RequestException as exc:
            raise ModelInstallError(
                f"could not download {url} ({exc}); on an offline site, copy the zip here "
                f"and run `dutyline fetch-model --zip {name}.zip`") from exc
        tmp.flush()
        return install_model_zip(tmp.name, target_root, expected_sha256, name)
