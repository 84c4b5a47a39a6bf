#!/usr/bin/env python3
# hello.py: the same response as hello.sh, from Python; compare their Server-Timing.
import sys
sys.stdout.write("Content-Type: text/plain\n\nHello, world!\n")
