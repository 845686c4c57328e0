#!/usr/bin/env python3
"""Generates the far-link benchmark's upstream (deterministic history, random bytes): a git repository
with LFS pointers and the LFS objects they point at, in giftless's local-storage layout.

    genfar.py DATA REPO_MB LFS_MB [TAGS]

DATA/repos/far.git          about REPO_MB MB packed: text files plus incompressible blobs spread over the
                            history, TAGS (40) annotated release tags on main so each adds a few MB, and
                            3 branches (main, dev, release/1.x); .gitattributes and LFS pointer files
                            (models/*.bin) added along the same history; one pack with a bitmap.
DATA/storage/git/far/<oid>  the LFS objects, LFS_MB MiB in all: 4 large ones of LFS_MB/8 MiB each and
                            the rest 1-8 MiB each (giftless's layout for the repository path git/far).

Reuses the fast-import stream of genrepos.py (same directory). The repository is built beside its final
path and renamed into place when complete.
"""
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from genrepos import AUTHORS, LFS_ATTRIBUTES, Stream, fresh_bare, git, lfs_objects  # noqa: E402


def lfs_sizes(rnd, lfs_mb):
    """4 large objects of lfs_mb/8 MiB, then 1-8 MiB objects up to lfs_mb MiB in all."""
    total = lfs_mb << 20
    large = max(1 << 20, total // 8)
    sizes = [large] * 4
    left = total - sum(sizes)
    while left > 0:
        size = min(left, rnd.randint(1 << 20, 8 << 20))
        sizes.append(size)
        left -= size
    rnd.shuffle(sizes)
    return sizes


def far(data, repo_mb, lfs_mb, tags=40):
    rnd = random.Random(1212)
    repos = os.path.join(data, "repos")
    os.makedirs(repos, exist_ok=True)
    path = os.path.join(repos, "far.git")

    pointers = lfs_objects(os.path.join(data, "storage", "git", "far"), lfs_sizes(rnd, lfs_mb), sharded=False)

    tmp = fresh_bare(path)
    s = Stream(tmp)
    words = ["mirror", "fetch", "pack", "ref", "tree", "blob", "delta", "index", "object", "commit", "link", "far"]

    def text(n):
        return ("\n".join(" ".join(rnd.choices(words, k=10)) for _ in range(n)) + "\n").encode()

    # Per tag interval: 10 commits on main, one of every two with an incompressible blob, so the binary
    # bytes (repo_mb in all) are spread evenly over the history and each tag adds repo_mb / tags.
    per_tag = 10
    binaries = tags * per_tag // 2
    blob_size = max(1024, (repo_mb * 1_000_000) // binaries)
    lfs_per_commit = [[] for _ in range(tags * per_tag)]
    for i, pointer in enumerate(pointers):
        lfs_per_commit[(i * len(lfs_per_commit)) // len(pointers)].append(pointer)

    when = 1_650_000_000
    mark = s.commit("refs/heads/main", when, "Initial import",
                    [(".gitattributes", LFS_ATTRIBUTES.encode()), ("README.md", b"# far\n")]
                    + [(f"src/mod{i:02d}.txt", text(80)) for i in range(40)], author=AUTHORS[0])
    branch_points = {}
    n = 0
    for t in range(tags):
        for c in range(per_tag):
            when += rnd.randint(600, 7200)
            changes = [(f"src/mod{rnd.randrange(40):02d}.txt", text(rnd.randint(40, 120)))]
            if n % 2 == 0:
                changes.append((f"assets/{t:02d}/a{n:04d}.dat", rnd.randbytes(int(blob_size * rnd.uniform(0.8, 1.2)))))
            for p_path, p_text in lfs_per_commit[n]:
                changes.append(("models/" + os.path.basename(p_path), p_text.encode()))
            mark = s.commit("refs/heads/main", when, f"Change {n}: {rnd.choice(words)} {rnd.choice(words)}", changes,
                            author=rnd.choice(AUTHORS))
            n += 1
        s.tag(f"v1.{t}.0", mark, when, f"Release 1.{t}.0")
        if t == tags // 2:
            branch_points["release/1.x"] = mark
        if t == tags - 4:
            branch_points["dev"] = mark
    # Two more branches with a few commits of their own (text only).
    for name, base in sorted(branch_points.items()):
        parent = base
        for j in range(5):
            when += 60
            parent = s.commit(f"refs/heads/{name}", when, f"{name} work {j}", [(f"notes/{name.replace('/', '-')}-{j}.md", text(30))],
                              parent=parent if j == 0 else None, author=rnd.choice(AUTHORS))
    s.close()
    # Like a hosting server: one pack with a reachability bitmap, packed refs.
    # No delta search (--window=0): the blobs are random bytes, and a search over them took minutes.
    git("-C", tmp, "repack", "-a", "-d", "-b", "-q", "--window=0")
    git("-C", tmp, "pack-refs", "--all")
    os.rename(tmp, path)
    print("  far.git: %d commits on main, %d tags, %d LFS objects (%.1f MiB)"
          % (n + 1, tags, len(pointers), sum(int(t.split()[-1]) for _, t in pointers) / 1048576))


if __name__ == "__main__":
    if len(sys.argv) not in (4, 5):
        raise SystemExit(__doc__)
    far(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]) if len(sys.argv) == 5 else 40)
