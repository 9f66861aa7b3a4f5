#!/usr/bin/python3
"""Checks vidx's include graph against the layers listed in docs/ARCHITECTURE.md.

    /usr/bin/python3 scripts/check_layers.py [REPO]

The layers are the fenced ```layers block of docs/ARCHITECTURE.md: one line per
layer, lowest first, folders of src/ on the same line being peers that must not
include each other. A file in src/F may include headers of its own folder, of
any lower layer and the public headers (vidx/...); never of a peer or of a
higher layer. The public headers include only each other; the CLI (tools/vidx)
and the Python extension (python/) include only the public headers and their own
files. Every folder of src/ must be
listed. Prints each violation and the folder graph's cycles, if any; exit 1 when
there is one, else 0.
"""
import re
import sys
from pathlib import Path

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def read_layers(repo):
    text = (repo / 'docs' / 'ARCHITECTURE.md').read_text()
    m = re.search(r'^```layers\n(.*?)^```', text, re.M | re.S)
    if not m:
        sys.exit('docs/ARCHITECTURE.md has no ```layers block')
    rank = {}
    for level, line in enumerate(l for l in m.group(1).splitlines() if l.strip()):
        for folder in line.split():
            rank[folder] = level
    return rank


def includes(path):
    return INCLUDE.findall(path.read_text(errors='replace'))


def check_src(repo, rank, problems, edges):
    for f in sorted((repo / 'src').glob('*/*.[ch]')):
        here = f.parent.name
        if here not in rank:
            problems.append('%s: folder src/%s is not in the layers of ARCHITECTURE.md' % (f, here))
            continue
        for inc in includes(f):
            top = inc.split('/')[0] if '/' in inc else here
            if top in ('vidx', here):
                continue
            if top not in rank:
                problems.append('%s: includes "%s", a folder outside the layers' % (f.relative_to(repo), inc))
                continue
            edges.add((here, top))
            if rank[top] >= rank[here]:
                kind = 'a peer' if rank[top] == rank[here] else 'a higher layer'
                problems.append('%s: includes "%s" from %s (%s -> %s)' % (f.relative_to(repo), inc, kind,
                                                                           here, top))


def check_public(repo, problems):
    pub = repo / 'include' / 'vidx'
    for f in sorted(pub.glob('*.h')):
        for inc in includes(f):
            if not (inc.startswith('vidx/') or (pub / inc).exists()):
                problems.append('%s: a public header includes "%s"' % (f.relative_to(repo), inc))


def check_cli(repo, problems):
    cli = repo / 'tools' / 'vidx'
    for f in sorted(cli.glob('*.[ch]')):
        for inc in includes(f):
            if not (inc.startswith('vidx/') or (cli / inc).exists()):
                problems.append('%s: the CLI includes "%s" (public headers only)' % (f.relative_to(repo), inc))
    # The Python extension is a client of the public API too (angle-bracket
    # includes there are Python's, NumPy's and the C library's).
    ext = repo / 'python'
    for f in sorted(ext.glob('*.[ch]')):
        for inc in includes(f) + re.findall(r'^\s*#\s*include\s+<((?:src|core|media|batch|'
                                             r'pipeline|catalog|store|encode|analyze|speech)/[^>]+)>',
                                             f.read_text(errors='replace'), re.M):
            if not (inc.startswith('vidx/') or (ext / inc).exists()):
                problems.append('%s: the Python extension includes "%s" (public headers only)'
                                % (f.relative_to(repo), inc))


def cycles(edges):
    graph = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
    found, state = [], {}

    def visit(node, path):
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                found.append(path[path.index(nxt):] + [nxt])
            elif not state.get(nxt):
                visit(nxt, path + [nxt])
        state[node] = 2

    for node in sorted(graph):
        if not state.get(node):
            visit(node, [node])
    return found


def main():
    repo = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent)
    rank = read_layers(repo)
    problems, edges = [], set()
    check_src(repo, rank, problems, edges)
    check_public(repo, problems)
    check_cli(repo, problems)
    for c in cycles(edges):
        problems.append('cycle between folders: %s' % ' -> '.join(c))
    for p in problems:
        print(p)
    print('layers: %d folders, %d folder edges, %d problems' % (len(rank), len(edges), len(problems)))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
