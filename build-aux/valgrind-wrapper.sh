#!/bin/sh
# meson test --setup valgrind: memcheck for the programs under test, not for
# the shells that drive them (their scripts put $VV_CLI_WRAPPER before each
# program they run). Usage: valgrind-wrapper.sh PROGRAM [ARGS...]
if [ "$(head -c 4 "$1")" = "$(printf '\177ELF')" ]; then
	exec $VV_CLI_WRAPPER "$@"
fi
exec "$@"
