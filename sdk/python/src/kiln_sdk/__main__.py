"""``python -m kiln_sdk build MODULE -o FILE.wasm``: builds a definition's component with
componentize-py against the WIT this SDK carries, so an author needs no copy of Kiln's
WIT and no world name.

``python -m kiln_sdk wit`` prints where that WIT is.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

#: The componentize-py this SDK is tested with (``pip install 'kiln-sdk[build]'``).
COMPONENTIZE_PY = "0.25.1"


def wit_dir() -> Path:
    """The directory of ``kiln:definition``'s WIT inside the installed package."""
    return Path(__file__).resolve().parent / "wit"


def build_command(module: str, output: str, paths: list[str]) -> list[str]:
    """The componentize-py command line that builds ``module`` into ``output``."""
    command = [
        sys.executable,
        "-c",
        "import sys; from componentize_py import script; sys.exit(script())",
        "-d",
        str(wit_dir()),
        "-w",
        "definition",
        "componentize",
        module,
        "-o",
        output,
    ]
    # The directory this SDK is installed in, so that the component finds it whichever
    # Python componentize-py would otherwise ask for its site-packages.
    for path in [*(paths or ["."]), str(wit_dir().parent.parent)]:
        command += ["-p", path]
    return command


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kiln_sdk")
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="build MODULE into a Kiln definition component")
    build.add_argument("module", help="the Python module of the definition, e.g. app")
    build.add_argument("-o", "--output", required=True, help="the .wasm file to write")
    build.add_argument(
        "-p",
        "--python-path",
        action="append",
        default=[],
        help="a directory holding the module or what it imports (default: .)",
    )
    commands.add_parser("wit", help="print the directory of the WIT this SDK builds against")
    args = parser.parse_args(argv)
    if args.command == "wit":
        print(wit_dir())
        return 0
    try:
        import componentize_py  # noqa: F401
    except ImportError:
        print(
            f"componentize-py is not installed: pip install componentize-py=={COMPONENTIZE_PY}",
            file=sys.stderr,
        )
        return 2
    return subprocess.call(build_command(args.module, args.output, args.python_path))


if __name__ == "__main__":
    sys.exit(main())
