#!/usr/bin/env python3
"""Shrinks a corpus that `cargo fuzz cmin` left large to a greedy set cover of its edges.

    python3 fuzz/cover.py <target> [libFuzzer args...]     e.g.  python3 fuzz/cover.py config -max_len=4096

libFuzzer's merge keeps, smallest first, every input that adds any feature, so after `cmin` a corpus can
still hold hundreds of files. This asks the target binary for each input's edges (a one-file merge
with `-use_counters=0`), then keeps the inputs a greedy set cover picks — most new edges first,
smaller input on ties — and deletes the rest: the same edge coverage in fewer files, or, if that
takes more than 200 files, the 200 that cover the most. Run after
`cargo fuzz build`; it uses the target's binary in fuzz/target/.
"""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

FUZZ = Path(__file__).resolve().parent


def edges(binary, path, args, tmp):
    """The edges one input reaches (a merge's control file lists only those new to its process)."""
    shutil.rmtree(tmp / "run", ignore_errors=True)  # a merge resumes from its control file, fills `empty`
    control, empty, single = tmp / "run" / "control", tmp / "run" / "empty", tmp / "run" / "single"
    empty.mkdir(parents=True)
    single.mkdir()
    (single / path.name).write_bytes(path.read_bytes())
    subprocess.run(
        [binary, "-merge=1", f"-merge_control_file={control}", "-use_counters=0", *args, empty, single],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    return {f for line in control.read_text().splitlines() if line.startswith("FT ") for f in line.split()[2:]}


def main(target, *args, max_files=200):
    corpus = FUZZ / "corpus" / target
    binary = FUZZ / "target" / "x86_64-unknown-linux-gnu" / "release" / target
    with tempfile.TemporaryDirectory() as tmp:
        features = {path: edges(binary, path, args, Path(tmp)) for path in sorted(corpus.iterdir())}
    uncovered = set().union(*features.values())
    total, count, keep = len(uncovered), len(features), set()
    while uncovered and len(keep) < max_files:
        best = max(features, key=lambda p: (len(features[p] & uncovered), -p.stat().st_size))
        keep.add(best)
        uncovered -= features.pop(best)
    for path in corpus.iterdir():
        if path not in keep:
            path.unlink()
    print(f"{target}: {len(keep)} of {count} files cover {total - len(uncovered)} of their {total} edges")


if __name__ == "__main__":
    main(*sys.argv[1:])
