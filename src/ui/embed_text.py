#!/usr/bin/env python3
# Turns a text file (a theme) into a C string literal, so the built-in theme
# is the shipped file itself and cannot drift from it.
import sys
src, dst = sys.argv[1], sys.argv[2]
with open(src, encoding='utf-8') as f, open(dst, 'w', encoding='utf-8') as o:
    o.write('/* generated from %s */\n' % src.split('/')[-1])
    for line in f.read().splitlines(True):
        o.write('"' + line.replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n') + '"\n')
