#!/bin/sh
# Terminals: the screens work with TERM=xterm, xterm-256color, linux, screen, tmux-256color and
# without colours; quitting, SIGTERM, SIGHUP and a crash always give the terminal back.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/ui/lib.sh"
D="$TMP/data"
"$IKEN" --data "$D" init >/dev/null

for term in xterm xterm-256color linux screen tmux-256color; do
	if ! infocmp "$term" >/dev/null 2>&1; then
		ok 0 "# SKIP no terminfo for $term"; ok 0 "# SKIP"; ok 0 "# SKIP"
		continue
	fi
	ui_start --term "$term" -- --data "$D"
	ui_has "Applicants" "TERM=$term: the menu is drawn"
	ui_keys Escape 1
	ui_has "show the keys" "TERM=$term: Esc 1 is F1 (help)"
	ui_keys Escape Escape
	ui_has "Opinion and invoice submission" "TERM=$term: Esc Esc goes back"
	ui_stop
done

# No colours at all (vt100): attributes only.
ui_start --term vt100 -- --data "$D"
ui_has "Applicants" "a monochrome terminal shows the menu"
ui_stop

# The terminal is given back: a shell runs iken, then records the tty's modes.
restored() { # restored SIGNAL|quit "description"
	rm -f "$TMP/stty"
	ui_start --cmd -- sh -c "$IKEN --data $D; stty -a > $TMP/stty"
	if [ "$1" = quit ]; then
		ui_keys F2
	else
		kill -s "$1" "$(pgrep -f "^$IKEN --data $D" | head -1)"
	fi
	i=0
	while [ ! -s "$TMP/stty" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	grep -q ' echo ' "$TMP/stty" && grep -q ' icanon ' "$TMP/stty"
	ok $? "$2"
	ui_stop
}
restored quit "quitting restores the terminal (echo, icanon)"
restored TERM "SIGTERM restores the terminal"
restored HUP "SIGHUP restores the terminal"
restored SEGV "a crash restores the terminal"
done_testing
