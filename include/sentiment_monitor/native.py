"""Compiled copies of the hot pure-Python modules, used only while they match their source.

The scorer (:mod:`sentiment_monitor.vader_fast`) and the record-by-record normalizer
(:mod:`sentiment_monitor.normalize`) are the night's Python work, and what is left of their cost
is interpreter overhead: small functions, string and list handling, float arithmetic. mypyc
compiles those same modules, typed as they are, to C extensions: the scorer ran 1.37-1.46x as
fast on the bench's texts with the very same floats (the committed corpus and the bench's full
comparison with vaderSentiment check both paths), normalize about 1.25x a record (about 12% of
its step, whose pool, files and dedupe stay as they were) with the very same parts and rejects
(a test compares the two on generated and shipped days).

The source stays the one truth. ``make`` builds each module of :data:`MODULES` under another
name (``_sentiment_native_<module>``) into the virtual environment's site-packages, with the
SHA-256 of the source it was compiled from as ``NATIVE_SOURCE_SHA256``; :func:`load` hands out
the compiled module only while that digest equals the current source's, so an edited module is
never shadowed by a stale build: it runs as Python until ``make`` compiles it again. Without a C
compiler or mypyc the build is skipped and everything runs as Python, only slower; setting
``SENTIMENT_NATIVE=off`` in the environment runs everything as Python too.

Compiled, a module checks the types it declares (a value annotated ``int`` must be an ``int``,
not a numpy integer), and its classes pickle only through ``__reduce__``; the modules here are
written for that, and the suite runs on the compiled copies (``make test`` builds them).

``python -m sentiment_monitor.native build`` builds; ``python -m sentiment_monitor.native
status`` says which modules run compiled.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import importlib
import logging
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from types import ModuleType

log = logging.getLogger(__name__)

#: The modules of this package that are compiled, by their name in the package.
MODULES: tuple[str, ...] = ("vader_fast", "normalize")

#: The constant a compiled copy carries: the SHA-256 of the source it was built from.
DIGEST_NAME = "NATIVE_SOURCE_SHA256"


def native_name(module: str) -> str:
    """The top-level name of ``module``'s compiled copy."""
    return f"_sentiment_native_{module}"


def source_path(module: str) -> Path:
    """The source file of ``module`` of this package."""
    return Path(__file__).resolve().with_name(f"{module}.py")


def source_digest(module: str) -> str:
    """SHA-256 (hex) of ``module``'s source file as it is now."""
    return hashlib.sha256(source_path(module).read_bytes()).hexdigest()


@functools.cache
def load(module: str) -> ModuleType | None:
    """``module``'s compiled copy if one is installed and was built from the current source,
    else None (the caller uses the Python module). Decided once per process."""
    if os.environ.get("SENTIMENT_NATIVE", "").strip().lower() in {"0", "off", "false", "no"}:
        return None
    try:
        compiled = importlib.import_module(native_name(module))
    except ImportError:
        return None
    if getattr(compiled, DIGEST_NAME, None) != source_digest(module):
        log.warning(
            "the compiled %s was built from another version of %s: running it as Python "
            "(make rebuilds it)",
            native_name(module),
            source_path(module).name,
        )
        return None
    return compiled


def fast_analyzer_class() -> type:
    """``FastSentimentAnalyzer``: the compiled one when :func:`load` allows, else Python's."""
    compiled = load("vader_fast")
    if compiled is not None:
        return compiled.FastSentimentAnalyzer  # type: ignore[no-any-return]
    from sentiment_monitor.vader_fast import FastSentimentAnalyzer

    return FastSentimentAnalyzer


def implementation(module: str = "vader_fast") -> str:
    """``"compiled"`` or ``"python"``: how this process runs ``module`` (by default the scorer,
    for the bench's report)."""
    return "compiled" if load(module) is not None else "python"


def build(target: Path, modules: tuple[str, ...] = MODULES) -> list[Path]:
    """Compile ``modules`` with mypyc into ``target`` (a folder on ``sys.path``); return the
    extension files written. Raises ``subprocess.CalledProcessError`` when mypyc fails."""
    target.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for module in modules:
        name = native_name(module)
        source = source_path(module).read_bytes()
        digest = hashlib.sha256(source).hexdigest()
        with tempfile.TemporaryDirectory(prefix="sentiment-native-") as work:
            copy = Path(work) / f"{name}.py"
            copy.write_bytes(source + f'\n{DIGEST_NAME}: str = "{digest}"\n'.encode())
            subprocess.run(
                [sys.executable, "-m", "mypyc", "--ignore-missing-imports", copy.name],
                cwd=work,
                check=True,
                stdout=subprocess.DEVNULL,
            )
            # One module compiled alone: mypyc writes one extension, no shared runtime library.
            built = sorted(Path(work).glob(f"{name}.*.so"))
            if not built:
                raise FileNotFoundError(f"mypyc wrote no extension for {name} in {work}")
            for stale in target.glob(f"{name}.*"):
                stale.unlink()
            for extension in built:
                shutil.copy2(extension, target / extension.name)
                written.append(target / extension.name)
    return written


def _site_packages() -> Path:
    return Path(sysconfig.get_paths()["platlib"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sentiment_monitor.native",
        description="Build or report the compiled copies of the hot modules.",
    )
    parser.add_argument("command", choices=("build", "status"))
    parser.add_argument("--target", type=Path, default=None, help="default: site-packages")
    args = parser.parse_args(argv)
    if args.command == "build":
        for path in build(args.target or _site_packages()):
            print(f"built {path}")
        return 0
    for module in MODULES:
        print(f"{module}: {implementation(module)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
