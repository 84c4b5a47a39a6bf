#!/usr/bin/env perl
# hello.pl: the same response as hello.sh, from Perl; compare their Server-Timing.
print "Content-Type: text/plain\n\nHello, world!\n";
