"""esa-diagnose: explain why mail did not arrive through a Cisco ESA (AsyncOS)."""

import sys

__version__ = "0.1.0"

if not ((3, 11) <= sys.version_info[:2] <= (3, 12)):
    # durable-rules' C extension does not import on 3.13+ (PyEval_CallObject was removed).
    sys.stderr.write(
        "esa-diagnose needs Python 3.11 or 3.12 (durable-rules does not import on {}.{})\n".format(
            *sys.version_info[:2]
        )
    )
    raise SystemExit(2)
