#!/usr/bin/env python3
"""The built-in reviewer over the recent history of real repositories, as a user would run it.

For each repository (a git directory, bare or not) and each of its last N non-merge commits, the
commit's diff is reviewed with `app-server review --diff` in a directory holding the files it
touches as they are at that commit (what the workers read at a pull request's head). Prints every
finding, with the commit and line, and the findings per 1,000 added lines, to be judged by hand.

    python3 tests/tools/real_commits.py --bin target/debug/app-server --commits 60 REPO_GIT_DIR...
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile


def git(repo, *args):
    return subprocess.run(
        ["git", "--git-dir", repo, *args], capture_output=True, check=True
    ).stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/debug/app-server")
    ap.add_argument("--commits", type=int, default=60)
    ap.add_argument("repos", nargs="+")
    a = ap.parse_args()
    binary = os.path.abspath(a.bin)
    total_added = total_findings = 0
    for repo in a.repos:
        shas = git(repo, "rev-list", "--no-merges", "-n", str(a.commits), "HEAD").decode().split()
        added = findings = parsed = files = 0
        for sha in shas:
            diff = git(repo, "show", "--format=", "--no-color", "--no-ext-diff", "-M", sha)
            for line in git(repo, "show", "--format=", "--numstat", sha).decode().splitlines():
                plus = line.split("\t")[0]
                added += int(plus) if plus.isdigit() else 0
            paths = git(
                repo, "diff-tree", "--no-commit-id", "--name-only", "-r", "--diff-filter=AMR", sha
            ).decode().splitlines()
            with tempfile.TemporaryDirectory() as tmp:
                for path in paths:
                    target = os.path.join(tmp, path)
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                    with open(target, "wb") as f:
                        f.write(git(repo, "show", f"{sha}:{path}"))
                with open(os.path.join(tmp, "change.diff"), "wb") as f:
                    f.write(diff)
                out = subprocess.run(
                    [binary, "review", "--diff", "change.diff"],
                    cwd=tmp, capture_output=True, env={"PATH": os.environ["PATH"]},
                )
            text = out.stdout.decode(errors="replace")
            m = re.search(r"ran on (\d+) file\(s\)( \((every one|\d+) parsed whole)?", text)
            if m:
                files += int(m.group(1))
                whole = m.group(3)
                parsed += int(m.group(1)) if whole == "every one" else int(whole or 0)
            for block in re.findall(r"\n(\S+:\d+ \[[^\]]+\] .+)\n    (.+)", text):
                findings += 1
                print(f"{os.path.basename(os.path.dirname(repo.rstrip('/')))} {sha[:10]} {block[0]}\n    {block[1]}")
        total_added += added
        total_findings += findings
        print(f"== {repo}: {len(shas)} commits, {added} added lines, {findings} findings, "
              f"{parsed} of {files} reviewed files parsed whole", file=sys.stderr)
    rate = 1000 * total_findings / max(total_added, 1)
    print(f"== total: {total_added} added lines, {total_findings} findings ({rate:.2f} per 1,000)",
          file=sys.stderr)


if __name__ == "__main__":
    main()
