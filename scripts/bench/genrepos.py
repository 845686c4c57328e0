#!/usr/bin/env python3
"""Generates the benchmark upstreams with `git fast-import` (deterministic: fixed seeds).

    genrepos.py small DIR COUNT   DIR/r000.git ... : a few commits, two branches, a tag each
    genrepos.py big DIR/big.git                    : ~20k commits, ~100 MB packed, mixed content
    genrepos.py refs DIR/refs.git [COUNT [MB]]     : COUNT refs (default 2000) shaped like a GitHub
                                                     project: branches, annotated tags, refs/pull/N/head
                                                     and refs/pull/N/merge, over ~1,500 small commits;
                                                     with MB, main's commits also carry MB megabytes of
                                                     incompressible blobs (a project of that pack size)
    genrepos.py mutate REPO SEED                   : upstream churn on a refs repository, in place:
                                                     new commits, new refs, force-moves and deletions
    genrepos.py bigpack DIR/bigpack.git [MB]       : one pack of about MB megabytes (default 300) of
                                                     mostly incompressible blobs over ~2,000 commits
    genrepos.py lfs-audit DATA MB                  : LFS objects (64 MiB, 1 MiB, 64 KiB mix) in DATA/store
                                                     (ab/cd/<oid>) and DATA/up.git pointing at them
    genrepos.py lfs-engine DATA MB                 : 8 MiB LFS objects in DATA/store, pointers in DATA/up.git
    genrepos.py lfs-sets DATA SMALL LARGE HUGE RESUME : the LFS transfer sets in giftless's layout
                                                     (DATA/storage/git/<set>/<oid>, DATA/repos/<set>.git)

Each repository is built in a temporary directory beside its final path and renamed into place
when complete, so an interrupted run never leaves a half-made repository that looks finished.
"""
import hashlib
import os
import random
import shutil
import subprocess
import sys

AUTHORS = [f"Dev {n} <dev{n}@example.invalid>" for n in range(1, 31)]
ENV = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL="/dev/null")


def git(*args, cwd=None):
    subprocess.run(["git", *args], cwd=cwd, env=ENV, check=True, stdout=subprocess.DEVNULL)


def data(b):
    return b"data %d\n" % len(b) + b + b"\n"


class Stream:
    """Buffers a fast-import stream into the stdin of `git fast-import` in one repository."""

    def __init__(self, repo, force=False):
        self.proc = subprocess.Popen(
            ["git", "-C", repo, "-c", "fastimport.unpackLimit=0", "fast-import", "--quiet", "--done", "--depth=50"]
            + (["--force"] if force else []),
            stdin=subprocess.PIPE, env=ENV)
        self.out = self.proc.stdin
        self.mark = 0

    def commit(self, ref, when, message, changes, parent=None, author=None, merges=()):
        self.mark += 1
        who = (author or AUTHORS[0]).encode()
        parts = [b"commit %s\nmark :%d\n" % (ref.encode(), self.mark),
                 b"author %s %d +0000\ncommitter %s %d +0000\n" % (who, when, who, when),
                 data(message.encode())]
        if parent is not None:
            # A mark from this stream, or the hex id of a commit already in the repository.
            parts.append(b"from :%d\n" % parent if isinstance(parent, int) else b"from %s\n" % parent.encode())
        for merged in merges:
            parts.append(b"merge :%d\n" % merged)
        for path, content in changes:
            if content is None:
                parts.append(b"D %s\n" % path.encode())
            else:
                parts.append(b"M 100644 inline %s\n" % path.encode())
                parts.append(data(content))
        parts.append(b"\n")
        self.out.write(b"".join(parts))
        return self.mark

    def tag(self, name, mark, when, message):
        who = AUTHORS[0].encode()
        self.out.write(b"tag %s\nfrom :%d\ntagger %s %d +0000\n" % (name.encode(), mark, who, when)
                       + data(message.encode()))

    def reset(self, ref, mark):
        """Points `ref` at a commit of this stream (a branch or pull ref without commits of its own)."""
        self.out.write(b"reset %s\nfrom :%d\n\n" % (ref.encode(), mark))

    def close(self):
        self.out.write(b"done\n")
        self.out.close()
        if self.proc.wait() != 0:
            raise SystemExit("git fast-import failed")


def fresh_bare(path):
    tmp = path + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    git("init", "-q", "--bare", "--template=", "-b", "main", tmp)
    return tmp


def small_repo(path, index):
    rnd = random.Random(1000 + index)
    tmp = fresh_bare(path)
    s = Stream(tmp)
    t = 1_600_000_000 + index * 1000
    words = ["alpha", "beta", "gamma", "delta", "mirror", "sync", "fetch", "ref", "pack", "tree"]

    def text(n):
        return ("\n".join(" ".join(rnd.choices(words, k=8)) for _ in range(n)) + "\n").encode()

    marks = []
    for c in range(5):
        changes = [(f"src/file{c}.txt", text(20)), ("README.md", b"# repo %d\n\nrevision %d\n" % (index, c))]
        marks.append(s.commit("refs/heads/main", t + c * 60, f"main commit {c}", changes, author=rnd.choice(AUTHORS)))
    s.tag("v1.0", marks[3], t + 300, "release 1.0")
    parent = marks[2]
    for c in range(2):
        parent = s.commit("refs/heads/dev", t + 400 + c * 60, f"dev commit {c}",
                          [(f"dev/notes{c}.txt", text(10))], parent=parent if c == 0 else None)
    s.close()
    os.rename(tmp, path)


def small(directory, count):
    os.makedirs(directory, exist_ok=True)
    todo = [i for i in range(count) if not os.path.isdir(os.path.join(directory, "r%03d.git" % i))]
    for i in todo:
        small_repo(os.path.join(directory, "r%03d.git" % i), i)


# --- the large repository ---------------------------------------------------------------------------

def big(path):
    rnd = random.Random(42)
    tmp = fresh_bare(path)
    s = Stream(tmp)

    # Source-like text from a fixed vocabulary of identifiers: compresses about 3× with zlib.
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = ["".join(rnd.choices(letters, k=rnd.randint(3, 11))) for _ in range(6000)]
    keywords = ["if", "for", "return", "let", "var", "func", "struct", "guard", "else", "{", "}", "(", ")", "=", "+", "->"]
    vocab += keywords * 60

    def line():
        indent = "    " * rnd.randint(0, 3)
        return indent + " ".join(rnd.choices(vocab, k=rnd.randint(2, 9)))

    def lines(n):
        return [line() for _ in range(n)]

    exts = [".swift", ".c", ".h", ".py", ".md", ".txt", ".json"]
    dirs = [f"src/pkg{a:02d}/mod{b:02d}" for a in range(12) for b in range(16)]
    files = {}          # path -> list of lines (current content)
    paths = []          # insertion order, for skewed picks of hot files
    assets = []

    def blob(path):
        return ("\n".join(files[path]) + "\n").encode()

    def new_text_file():
        d = rnd.choice(dirs)
        p = f"{d}/f{len(paths):05d}{rnd.choice(exts)}"
        files[p] = lines(int(rnd.lognormvariate(5.6, 0.8)) + 5)   # median ~270 lines (~10 KB)
        paths.append(p)
        return p

    def edit(p):
        content = files[p]
        for _ in range(rnd.randint(1, 3)):
            at = rnd.randrange(len(content) + 1)
            drop = rnd.randint(0, 3)
            content[at:at + drop] = lines(rnd.randint(1, 6))
        return p

    # An initial import of a sizeable tree, then a long history of small edits.
    initial = [new_text_file() for _ in range(2500)]
    when = 1_500_000_000
    mark = s.commit("refs/heads/main", when, "Initial import", [(p, blob(p)) for p in initial])
    commits = 20_000
    tags = []
    for i in range(1, commits):
        when += rnd.randint(300, 7200)
        changes = []
        r = rnd.random()
        if r < 0.15:
            p = new_text_file()
            changes.append((p, blob(p)))
        n = 1 if r < 0.6 else rnd.randint(2, 4)
        for _ in range(n):
            # Skewed towards recent and "hot" files, like real histories.
            k = len(paths)
            p = paths[min(k - 1, int(k * (1 - rnd.random() ** 3)))] if rnd.random() < 0.7 else rnd.choice(paths)
            changes.append((edit(p), blob(p)))
        if i % 60 == 0:
            # An incompressible asset (new or replaced): ~40 MB over the whole history.
            if assets and rnd.random() < 0.3:
                a = rnd.choice(assets)
            else:
                a = f"assets/img{len(assets):04d}.bin"
                assets.append(a)
            changes.append((a, os.urandom(int(rnd.uniform(30_000, 180_000)))))
        if i % 997 == 0 and len(paths) > 100:
            victim = paths.pop(rnd.randrange(len(paths) // 2))
            del files[victim]
            changes.append((victim, None))
        msg = f"{rnd.choice(['Fix', 'Add', 'Refactor', 'Tune', 'Document', 'Test'])} {rnd.choice(vocab)} in {os.path.basename(changes[0][0])}\n\n" + \
              "\n".join(line().strip() for _ in range(rnd.randint(0, 4)))
        mark = s.commit("refs/heads/main", when, msg, changes, author=rnd.choice(AUTHORS))
        if i % 400 == 0:
            tags.append((f"v{i // 4000}.{(i // 400) % 10}.0", mark, when))
        if i in (12_000, 16_000, 19_000):
            # Maintenance branches with their own small commits.
            name = f"refs/heads/release/{i // 4000}.x"
            parent = mark
            for j in range(30):
                notes = ("\n".join(lines(20 + j)) + "\n").encode()
                parent = s.commit(name, when + j, f"release notes {j}", [(f"NOTES-{i // 4000}.md", notes)],
                                  parent=parent if j == 0 else None, author=rnd.choice(AUTHORS))
    for name, m, w in tags:
        s.tag(name, m, w, f"Release {name}")
    s.close()
    # Like a real server: one pack with a reachability bitmap, packed refs.
    git("-C", tmp, "repack", "-a", "-d", "-f", "-b", "-q")
    git("-C", tmp, "pack-refs", "--all")
    os.rename(tmp, path)


# --- a ref-heavy repository, like a real GitHub project ---------------------------------------------

def refs(path, count=2000, mb=0):
    """count refs: a quarter each of branches, annotated tags, refs/pull/N/head and refs/pull/N/merge;
    mb megabytes of incompressible blobs spread over main's commits."""
    rnd = random.Random(7)
    payload = random.Random(11)
    tmp = fresh_bare(path)
    s = Stream(tmp)
    quarter = count // 4
    when = 1_550_000_000
    main = []
    for c in range(400):
        when += rnd.randint(600, 9000)
        changes = [(f"src/m{c % 40:02d}.c", b"int v%d = %d;\n" % (c, rnd.randrange(1 << 30)))]
        if mb:
            changes.append((f"assets/a{c % 97:02d}.bin", payload.randbytes(mb * 1_000_000 // 400)))
        main.append(s.commit("refs/heads/main", when, f"main {c}", changes, author=rnd.choice(AUTHORS)))
    # Branches: the first commit of each is its own; the rest point into main's history.
    for b in range(quarter - 1):
        base = rnd.choice(main)
        if b % 4 == 0:
            s.commit(f"refs/heads/topic/b{b:04d}", when + b, f"topic {b}", [(f"topic/{b}.txt", b"topic %d\n" % b)],
                     parent=base, author=rnd.choice(AUTHORS))
        else:
            s.reset(f"refs/heads/feature/b{b:04d}", base)
    for t in range(count - 3 * quarter):
        s.tag(f"v{t // 100}.{t % 100}.0", main[(t * 7) % len(main)], when + t, f"Release {t}")
    for n in range(1, quarter + 1):
        base = rnd.choice(main)
        head = s.commit(f"refs/pull/{n}/head", when + 10_000 + n, f"PR {n}", [(f"pr/{n}.txt", b"pull %d\n" % n)],
                        parent=base, author=rnd.choice(AUTHORS))
        s.commit(f"refs/pull/{n}/merge", when + 20_000 + n, f"Merge {n} into main", [(f"pr/{n}.txt", b"pull %d\n" % n)],
                 parent=main[-1], merges=(head,))
    s.close()
    git("-C", tmp, "repack", "-a", "-d", "-q")
    git("-C", tmp, "pack-refs", "--all")
    os.rename(tmp, path)


def mutate(repo, seed):
    """What an upstream does between two syncs, at a real project's scale: ~5% of refs deleted, ~5% of the
    branches force-moved (rewound or rewritten), ~100 new refs on new commits, a few tags re-made."""
    rnd = random.Random(seed)
    out = subprocess.run(["git", "-C", repo, "for-each-ref", "--format=%(objectname) %(objecttype) %(refname)"],
                         env=ENV, check=True, capture_output=True, text=True).stdout.split("\n")
    current = [line.split(" ") for line in out if line]
    commits = [oid for oid, kind, _ in current if kind == "commit"]
    names = [name for _, _, name in current if name != "refs/heads/main"]
    doomed = set(rnd.sample(names, len(names) // 20))
    branches = [n for n in names if n.startswith("refs/heads/") and n not in doomed]
    moved = rnd.sample(branches, max(1, len(branches) // 20))
    s = Stream(repo, force=True)
    when = 1_700_000_000 + seed * 100_000
    for i, name in enumerate(moved):
        if i % 2:
            s.commit(name, when + i, f"rewrite {name} ({seed})", [("rewritten.txt", b"%d %d\n" % (seed, i))],
                     parent=rnd.choice(commits))
        else:
            s.commit(name, when + i, f"rewound {name} ({seed})", [], parent=rnd.choice(commits))
    for i in range(50):
        s.commit(f"refs/heads/new/s{seed}-{i}", when + 1000 + i, f"new branch {i}", [(f"new/{seed}-{i}.txt", b"%d\n" % i)],
                 parent=rnd.choice(commits))
    last_pull = max([int(n.split("/")[2]) for n in names if n.startswith("refs/pull/")] or [0])
    for i in range(1, 26):
        n = last_pull + i
        head = s.commit(f"refs/pull/{n}/head", when + 2000 + i, f"PR {n}", [(f"pr/{n}.txt", b"pull %d %d\n" % (n, seed))],
                        parent=rnd.choice(commits))
        s.commit(f"refs/pull/{n}/merge", when + 3000 + i, f"Merge {n}", [(f"pr/{n}.txt", b"pull %d %d\n" % (n, seed))],
                 parent="refs/heads/main", merges=(head,))
    for i, name in enumerate(rnd.sample([n for n in names if n.startswith("refs/tags/") and n not in doomed], 5)):
        mark = s.commit(f"refs/heads/retag/s{seed}-{i}", when + 4000 + i, f"retag {name}", [], parent=rnd.choice(commits))
        s.tag(name[len("refs/tags/"):], mark, when + 4000 + i, f"Re-made {name} ({seed})")
    s.close()
    deletes = "".join(f"delete {name}\n" for name in sorted(doomed))
    subprocess.run(["git", "-C", repo, "update-ref", "--stdin"], input=deletes.encode(), env=ENV, check=True)


# --- one big pack -----------------------------------------------------------------------------------

def bigpack(path, megabytes=300):
    """A repository whose single pack is about `megabytes` MB: incompressible blobs of 40-300 KB over ~2,000
    commits (a data or game-asset repository), with heads and tags only."""
    rnd = random.Random(300)
    tmp = fresh_bare(path)
    s = Stream(tmp)
    budget = megabytes << 20
    when = 1_600_000_000
    mark = None
    c = 0
    while budget > 0:
        size = rnd.randint(40_000, 300_000)
        budget -= size
        when += 600
        payload = rnd.randbytes(size)
        mark = s.commit("refs/heads/main", when, f"asset {c}", [(f"assets/{c % 500:03d}/a{c:05d}.bin", payload)],
                        parent=mark, author=rnd.choice(AUTHORS))
        if c % 50 == 0:
            s.tag(f"r{c // 50}", mark, when, f"Drop {c // 50}")
        c += 1
    s.close()
    # fast-import wrote one pack already; a repack would only search for deltas that random data lacks.
    git("-C", tmp, "pack-refs", "--all")
    os.rename(tmp, path)


# --- LFS data sets: random objects and a repository of pointers to them ---------------------------------

LFS_ATTRIBUTES = "*.bin filter=lfs diff=lfs merge=lfs -text\n"


def lfs_objects(store, sizes, sharded):
    """Writes random objects of `sizes` into `store` (ab/cd/<oid> when sharded, flat <oid> otherwise);
    returns their pointer files as (path, text)."""
    os.makedirs(store, exist_ok=True)
    pointers = []
    digits = len(str(max(len(sizes) - 1, 1)))
    for i, size in enumerate(sizes):
        h = hashlib.sha256()
        tmp = os.path.join(store, ".tmp")
        with open(tmp, "wb") as f:
            left = size
            while left:
                chunk = os.urandom(min(left, 8 << 20))
                h.update(chunk)
                f.write(chunk)
                left -= len(chunk)
        oid = h.hexdigest()
        final = os.path.join(store, oid[:2], oid[2:4], oid) if sharded else os.path.join(store, oid)
        os.makedirs(os.path.dirname(final), exist_ok=True)
        os.replace(tmp, final)
        pointers.append(("objects/%0*d.bin" % (max(4, digits), i),
                         "version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n" % (oid, size)))
    return pointers


def pointer_repo(repo, pointers, export=False):
    """A bare repository with one commit on main: .gitattributes and the pointer files."""
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", repo], env=ENV, check=True)
    if export:
        open(os.path.join(repo, "git-daemon-export-ok"), "w").close()
    stream = ["commit refs/heads/main\ncommitter Bench <bench@example.org> 1700000000 +0000\ndata 5\ndata\n"]
    stream.append("M 100644 inline .gitattributes\ndata %d\n%s\n" % (len(LFS_ATTRIBUTES), LFS_ATTRIBUTES))
    for path, text in pointers:
        stream.append("M 100644 inline %s\ndata %d\n%s\n" % (path, len(text), text))
    subprocess.run(["git", "-C", repo, "fast-import", "--quiet"], input="".join(stream).encode(), env=ENV, check=True)


def lfs_audit(data, size_mb):
    scale = size_mb / 4096
    sizes = [64 << 20] * round(48 * scale) + [1 << 20] * round(768 * scale) + [64 << 10] * round(4096 * scale)
    pointers = lfs_objects(os.path.join(data, "store"), sizes, sharded=True)
    pointer_repo(os.path.join(data, "up.git"), [("objects/%05d.bin" % i, t) for i, (_, t) in enumerate(pointers)])
    print("  %d objects, %.2f GiB" % (len(sizes), sum(sizes) / (1 << 30)))


def lfs_engine(data, size_mb):
    pointers = lfs_objects(os.path.join(data, "store"), [8 << 20] * max(1, size_mb // 8), sharded=True)
    pointer_repo(os.path.join(data, "up.git"), [("objects/%04d.bin" % i, t) for i, (_, t) in enumerate(pointers)])


def lfs_history(data, set_name, commits, every):
    """A long history: one small text change per commit, and a pointer (to a 4 KiB object) every `every` commits."""
    store = os.path.join(data, "storage", "git", set_name)
    os.makedirs(store, exist_ok=True)
    repo = os.path.join(data, "repos", set_name + ".git")
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", repo], env=ENV, check=True)
    open(os.path.join(repo, "git-daemon-export-ok"), "w").close()
    out = []
    for i in range(commits):
        out.append("commit refs/heads/main\ncommitter Bench <bench@example.org> %d +0000\ndata 6\nchange\n" % (1700000000 + i))
        text = ("line %d " % i).ljust(199, "x") + "\n"  # 200 bytes: small enough to be read as a possible pointer
        out.append("M 100644 inline src/file%02d.txt\ndata %d\n%s\n" % (i % 50, len(text), text))
        if i % every == 0:
            body = os.urandom(4096)
            oid = hashlib.sha256(body).hexdigest()
            with open(os.path.join(store, oid), "wb") as f:
                f.write(body)
            ptr = "version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize 4096\n" % oid
            out.append("M 100644 inline weights/w%05d.bin\ndata %d\n%s\n" % (i, len(ptr), ptr))
    subprocess.run(["git", "-C", repo, "fast-import", "--quiet"], input="".join(out).encode(), env=ENV, check=True)
    subprocess.run(["git", "-C", repo, "repack", "-adq"], env=ENV, check=True)
    print("  %s: %d commits, %d pointers" % (set_name, commits, (commits + every - 1) // every))


def lfs_sets(data, small, large, huge_mb, resume_mb):
    rng = random.Random(42)
    os.makedirs(os.path.join(data, "repos"), exist_ok=True)

    def make(set_name, sizes):
        pointers = lfs_objects(os.path.join(data, "storage", "git", set_name), sizes, sharded=False)
        pointers = [("objects/%04d.bin" % i, t) for i, (_, t) in enumerate(pointers)]
        pointer_repo(os.path.join(data, "repos", set_name + ".git"), pointers, export=True)
        print("  %s: %d objects, %.1f MiB" % (set_name, len(sizes), sum(sizes) / 1048576))

    make("small", [64 << 10] * small)
    make("large", [rng.randint(1 << 20, 8 << 20) for _ in range(large)] + [huge_mb << 20] * 4)
    make("resume", [resume_mb << 20])
    lfs_history(data, "history", 50000, 5000)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "small":
        small(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) == 3 and sys.argv[1] == "big":
        big(sys.argv[2])
    elif len(sys.argv) in (3, 4, 5) and sys.argv[1] == "refs":
        refs(sys.argv[2], int(sys.argv[3]) if len(sys.argv) >= 4 else 2000, int(sys.argv[4]) if len(sys.argv) == 5 else 0)
    elif len(sys.argv) == 4 and sys.argv[1] == "mutate":
        mutate(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) in (3, 4) and sys.argv[1] == "bigpack":
        bigpack(sys.argv[2], int(sys.argv[3]) if len(sys.argv) == 4 else 300)
    elif len(sys.argv) == 4 and sys.argv[1] == "lfs-audit":
        lfs_audit(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) == 4 and sys.argv[1] == "lfs-engine":
        lfs_engine(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) == 7 and sys.argv[1] == "lfs-sets":
        lfs_sets(sys.argv[2], *(int(a) for a in sys.argv[3:7]))
    else:
        raise SystemExit(__doc__)
