#!/usr/bin/env python3
"""Generates a bare repository shaped like a released project, for far-link tests and benchmarks.

    tagged-repo.py BARE TAGS KIB [--seed N] [--from-tag K]

Creates (or extends) BARE with branch main holding TAGS commits, each adding a file of KIB KiB of
incompressible data and tagged vTAG (annotated), then branches dev and feature, one more such commit each
off the last tag; HEAD is main. With --from-tag K, commits start at tag K (extending a repository made
with TAGS=K-1 and the same seed, so the first K-1 tags are unchanged). Runs `git fast-import`, then packs
everything into one pack (what an upstream serves) and prints the pack's size in bytes.
"""
import argparse
import glob
import os
import random
import subprocess


def main():
    p = argparse.ArgumentParser()
    p.add_argument("bare")
    p.add_argument("tags", type=int)
    p.add_argument("kib", type=int)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--from-tag", type=int, default=1)
    a = p.parse_args()
    if not os.path.exists(os.path.join(a.bare, "HEAD")):
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", a.bare], check=True)
        open(os.path.join(a.bare, "git-daemon-export-ok"), "w").close()
    rng = random.Random(a.seed)
    out = []

    def data(n):
        return rng.randbytes(n)

    when = 1700000000
    for i in range(1, a.tags + 1):
        payload = data(a.kib * 1024)
        when += 3600
        if i < a.from_tag:
            continue
        msg = b"release %d\n" % i
        # The first commit of an extension starts from the repository's main; later ones continue it.
        parent = b"from refs/heads/main^0\n" if i == a.from_tag and i > 1 else b""
        out.append(b"commit refs/heads/main\ncommitter Gen <gen@example.org> %d +0000\ndata %d\n%s%s"
                   b"M 100644 inline weights/part%04d.bin\ndata %d\n%s\n\n"
                   % (when, len(msg), msg, parent, i, len(payload), payload))
        out.append(b"tag v%d\nfrom refs/heads/main\ntagger Gen <gen@example.org> %d +0000\ndata %d\n%s\n"
                   % (i, when, len(msg), msg))
    for name in (b"dev", b"feature"):
        payload = data(a.kib * 1024)
        when += 60
        out.append(b"commit refs/heads/%s\ncommitter Gen <gen@example.org> %d +0000\ndata 7\nbranch\n"
                   b"from refs/heads/main\nM 100644 inline %s.bin\ndata %d\n%s\n\n" % (name, when, name, len(payload), payload))
    subprocess.run(["git", "fast-import", "--quiet", "--force"], cwd=a.bare, input=b"".join(out), check=True)
    subprocess.run(["git", "repack", "-a", "-d", "-q", "--window=0"], cwd=a.bare, check=True)
    print(sum(os.path.getsize(f) for f in glob.glob(os.path.join(a.bare, "objects/pack/*.pack"))))


if __name__ == "__main__":
    main()
