"""Index a directory tree with FilePath: walk, sizes, globs, segments, and refusing escapes."""

import tempfile

from glisten.python.filepath import FilePath, InsecurePath


def build(root):
    for segments, content in [
        (["docs", "index.txt"], b"welcome"),
        (["docs", "guide", "intro.txt"], b"hello there"),
        (["src", "main.py"], b"print('x')\n"),
        (["src", "util.py"], b""),
        (["README"], b"read me"),
    ]:
        target = root.descendant(segments)
        target.parent().makedirs(ignoreExistingDirectory=True)
        target.setContent(content)


def main():
    root = FilePath(tempfile.mkdtemp())
    build(root)
    total = 0
    for path in sorted(root.walk(), key=lambda p: p.segmentsFrom(root) if p != root else []):
        if path == root:
            continue
        rel = "/".join(path.segmentsFrom(root))
        if path.isdir():
            print("dir ", rel + "/")
        else:
            total += path.getsize()
            print("file", rel, path.getsize())
    print("total bytes:", total)
    print("python files:", sorted(p.basename() for p in root.child("src").globChildren("*.py")))
    print(
        "guide via preauthChild:", root.preauthChild("docs/guide/intro.txt").getContent().decode()
    )
    for attempt in ["..", "../etc", "/etc/passwd", "a/b"]:
        try:
            root.child(attempt)
        except InsecurePath:
            print("child(%r): InsecurePath" % (attempt,))
    try:
        root.preauthChild("docs/../../outside")
    except InsecurePath:
        print("preauthChild escape: InsecurePath")
    print(
        "siblings of README:",
        sorted(p.basename() for p in root.child("README").parent().children()),
    )
    root.child("docs").copyTo(root.child("docs-copy"))
    print("copied:", root.descendant(["docs-copy", "guide", "intro.txt"]).getContent().decode())
    root.child("docs-copy").moveTo(root.child("archive"))
    print("moved exists:", root.child("archive").exists(), root.child("docs-copy").exists())
    root.remove()
    print("removed:", not root.exists())


if __name__ == "__main__":
    main()
