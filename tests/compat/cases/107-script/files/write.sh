#!/bin/sh
# Writes its arguments and where it ran.
echo "args: $*"
echo "in: $(pwd)"
echo "$1" > "$2"
