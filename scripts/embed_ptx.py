#!/usr/bin/env python3
"""Writes a C file defining `const char NAME[]` with the text of a PTX file (the build
embeds src/gpu/scale.ptx this way so that no nvcc is needed). Usage: embed_ptx.py IN OUT NAME"""
import sys

src, dst, name = sys.argv[1:4]
data = open(src, 'rb').read()
with open(dst, 'w') as f:
    f.write('/* Generated from %s by scripts/embed_ptx.py: do not edit. */\n' % src.split('/')[-1])
    f.write('const char %s[] =\n' % name)
    for line in data.decode('ascii').splitlines(True):
        f.write('    "%s"\n' % line.replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n').replace('\t', '\\t'))
    f.write('    ;\n')
