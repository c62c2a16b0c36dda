#!/usr/bin/env python3
"""Every relative link in README.md and docs/*.md must name a file or folder of the
repository (and, with `#anchor`, a heading of that Markdown file). Prints each broken link;
exits 1 if there is one."""
import pathlib
import re
import sys

root = pathlib.Path(__file__).resolve().parent.parent
link = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
fence = re.compile(r"^\s*(```|~~~)")


def prose(path):
    """The lines of a Markdown file outside its code blocks."""
    inside = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if fence.match(line):
            inside = not inside
        elif not inside:
            yield line


def slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path):
    return {slug(line.lstrip("#")) for line in prose(path) if line.startswith("#")}


files = [root / "README.md", *sorted((root / "docs").glob("**/*.md"))]
broken = []
for md in files:
    for line in prose(md):
        for target in link.findall(re.sub(r"`[^`]*`", "", line)):
            if re.match(r"^[a-z]+:", target):  # https:, mailto:
                continue
            path, _, anchor = target.partition("#")
            dest = (md.parent / path).resolve() if path else md
            where = f"{md.relative_to(root)}: {target}"
            if not dest.exists() or root not in [dest, *dest.parents]:
                broken.append(f"{where} (no such file)")
            elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
                broken.append(f"{where} (no such heading)")
for b in broken:
    print(f"broken link: {b}")
print(f"{len(files)} Markdown files checked, {len(broken)} broken links")
sys.exit(1 if broken else 0)
