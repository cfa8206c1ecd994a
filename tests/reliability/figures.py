#!/usr/bin/env python3
"""figures.py FIGURES DOC TRIALS: writes the figures tests/reliability/run collected (tab-separated
SUITE NAME VALUE COMMAND lines) into DOC between the "figures" markers, one block per suite. Only
the suites in FIGURES are rewritten; the others keep the figures of their last run."""
import collections, datetime, os, re, sys

START, END = "<!-- figures", "<!-- end of figures -->"
fig, doc, trials = sys.argv[1:4]
rows = collections.OrderedDict()
for line in open(fig):
    parts = line.rstrip("\n").split("\t")
    if len(parts) == 4:
        rows.setdefault(parts[0], []).append(parts[1:])
text = open(doc).read() if os.path.exists(doc) else "# Reliability\n"
a, b = text.find(START), text.find(END)
if a < 0 or b < 0:
    text += "\n## Figures\n\n%s -->\n%s\n" % (START, END)
    a, b = text.find(START), text.find(END)
blocks = collections.OrderedDict()
for m in re.finditer(r"(?ms)^### (\S+)\n.*?(?=^### |\Z)", text[a:b]):
    blocks[m.group(1)] = m.group(0).rstrip("\n") + "\n"
stamp = "%s UTC, trials: %s, binary: %s" % (datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"), trials,
                                          os.path.basename(os.environ.get("MESH_BIN", "mesh")))
for suite, figs in rows.items():
    body = ["### %s" % suite, "", "Run %s." % stamp, "", "| figure | value | command |", "| --- | --- | --- |"]
    body += ["| %s | %s | `%s` |" % (n, v, c.replace("|", "\\|")) for n, v, c in figs]
    blocks[suite] = "\n".join(body) + "\n"
out = START + ": written by tests/reliability/run (figures.py), one block per suite; do not edit by hand -->\n\n"
out += "\n".join(blocks.values()) + "\n"
open(doc, "w").write(text[:a] + out + text[b:])
