#!/usr/bin/env python3
"""Checks the relative links of Markdown files: each target file exists and
each #anchor is a heading of the target (GitHub's slugs). Links with a
scheme (https:, mailto:) and links inside fenced code are not checked.

    scripts/check-doc-links.py README.md docs/*.md */README.md

Exits 1 and names each broken link, else prints "all links resolve"."""
import os, re, sys, unicodedata

def slug(text):
    text = re.sub(r'`', '', text).strip().lower()
    out = []
    for ch in text:
        cat = unicodedata.category(ch)
        if cat[0] in 'LMN' or cat == 'Pc' or ch in ' -':
            out.append(ch)
    return ''.join(out).replace(' ', '-')

def anchors(path):
    seen, result = {}, set()
    in_code = False
    for line in open(path, encoding='utf-8'):
        if line.startswith('```'):
            in_code = not in_code
            continue
        if in_code:
            continue
        m = re.match(r'^(#{1,6})\s+(.*?)\s*#*\s*$', line)
        if m:
            # strip links in headings: [text](url) -> text
            t = re.sub(r'\[([^\]]*)\]\([^)]*\)', r'\1', m.group(2))
            s = slug(t)
            n = seen.get(s, 0)
            seen[s] = n + 1
            result.add(s if n == 0 else f'{s}-{n}')
    return result

bad = 0
for f in sys.argv[1:]:
    text = open(f, encoding='utf-8').read()
    text_nocode = re.sub(r'```.*?```', '', text, flags=re.S)
    for m in re.finditer(r'\]\(([^)\s]+)\)', text_nocode):
        url = m.group(1)
        if re.match(r'^[a-z]+:', url):
            continue
        path, _, frag = url.partition('#')
        target = os.path.normpath(os.path.join(os.path.dirname(f), path)) if path else f
        if not os.path.exists(target):
            print(f'{f}: missing {url}'); bad += 1; continue
        if frag and target.endswith('.md') and frag not in anchors(target):
            print(f'{f}: no anchor #{frag} in {target}'); bad += 1
print(f'{bad} broken' if bad else 'all links resolve')
sys.exit(1 if bad else 0)
