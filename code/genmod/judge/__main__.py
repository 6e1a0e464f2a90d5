r"""Command line: ``python -m genmod.judge SAMPLES.npz [--json OUT.json] [--no-reference]``.

Scores the digits stored under the key ``images`` (shape ``(N, 28, 28)``, values in
[0, 1]) with :func:`genmod.judge.judge_samples`; when the file also holds the key
``requested`` (shape ``(N,)``, the class each digit was generated for, integers 0..9),
with :func:`genmod.judge.judge_conditional_samples`. TensorFlow notebooks reach the
judge this way, in a fresh process.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from genmod.judge import judge_conditional_samples, judge_samples


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m genmod.judge",
                                     description="Score generated MNIST digits with the judge.")
    parser.add_argument("samples", help=".npz with key 'images', shape (N, 28, 28), values in "
                        "[0, 1], and optionally 'requested', shape (N,), the classes 0..9 "
                        "asked for")
    parser.add_argument("--json", help="write the result to this file")
    parser.add_argument("--no-reference", action="store_true",
                        help="skip the real-digit reference distance")
    args = parser.parse_args(argv)
    with np.load(args.samples) as f:
        if "images" not in f.files:
            parser.error(f"{args.samples} has no key 'images' (found {f.files})")
        images = f["images"]
        requested = f["requested"] if "requested" in f.files else None
    if requested is None:
        result = judge_samples(images, with_reference=not args.no_reference)
    else:
        result = judge_conditional_samples(images, requested, with_reference=not args.no_reference)
    if args.json:
        Path(args.json).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
