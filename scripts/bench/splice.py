#!/usr/bin/env python3
"""Puts a generated block into docs/benchmarks.md and keeps every other section as it is.

    splice.py DOC NAME FILE

Replaces the text between `<!-- bench:NAME:start -->` and `<!-- bench:NAME:end -->` (markers included)
with the markers around FILE's contents, or appends the block when the markers are not there yet.
NAME "intro" is special: a missing intro block goes at the top of the document.
"""
import os
import sys


def splice(doc_text, name, body):
    start, end = f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"
    block = f"{start}\n{body.strip()}\n{end}\n"
    i = doc_text.find(start)
    j = doc_text.find(end, i + 1) if i >= 0 else -1
    if i >= 0 and j >= 0:
        j += len(end)
        if doc_text[j:j + 1] == "\n":
            j += 1
        return doc_text[:i] + block + doc_text[j:]
    if name == "intro":
        return block + ("\n" + doc_text.lstrip("\n") if doc_text.strip() else "")
    if not doc_text.strip():
        return block
    return doc_text.rstrip("\n") + "\n\n" + block


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    doc, name, source = sys.argv[1:]
    with open(source, encoding="utf-8") as f:
        body = f.read()
    text = ""
    if os.path.exists(doc):
        with open(doc, encoding="utf-8") as f:
            text = f.read()
    out = splice(text, name, body)
    tmp = doc + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(out)
    os.replace(tmp, doc)


if __name__ == "__main__":
    main()
