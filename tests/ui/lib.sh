# Screen tests: the real iken in tmux, driven with send-keys, read with capture-pane.
# Deterministic: fixed size (80x24 unless said), clock, time zone, locale, TERM; a key script
# waits for iken to be idle (IKEN_TEST_IDLE) instead of sleeping.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/lib.sh"
GOLDEN="$top_srcdir/tests/ui/golden"
SOCK="$TMP/tmux.sock"
IDLE="$TMP/idle"
export IKEN_TEST_NO_POLL="${IKEN_TEST_NO_POLL-1}"
trap 'tmux -S "$SOCK" kill-server 2>/dev/null; rm -rf "$TMP"' EXIT

# ui_start [--size COLSxROWS] [--lang LANG] [--term TERM] [--cmd] -- iken args… (--cmd: a
# whole command instead of iken's arguments)
ui_start() {
	cols=80 rows=24 lang=C.UTF-8 term=xterm-256color prog="$IKEN"
	while [ $# -gt 0 ]; do
		case "$1" in
		--cmd) prog=; shift ;;
		--size) cols=${2%x*}; rows=${2#*x}; shift 2 ;;
		--lang) lang=$2; shift 2 ;;
		--term) term=$2; shift 2 ;;
		--) shift; break ;;
		*) break ;;
		esac
	done
	rm -f "$IDLE"
	tmux -S "$SOCK" -f /dev/null new-session -d -s t -x "$cols" -y "$rows" \
		env -u TMUX TERM="$term" LANG="$lang" LC_ALL="$lang" LANGUAGE= TZ=Asia/Tokyo \
		HOME="$HOME" IKEN_FORMS="$IKEN_FORMS" IKEN_TEST_NOW="$IKEN_TEST_NOW" \
		IKEN_TEST_USER="$IKEN_TEST_USER" IKEN_TEST_IDLE="$IDLE" \
		IKEN_TEST_NO_POLL="$IKEN_TEST_NO_POLL" IKEN_STABLE_SECONDS=0 \
		$prog "$@"
	tmux -S "$SOCK" set-option -t t status off >/dev/null
	tmux -S "$SOCK" set-option -t t remain-on-exit on >/dev/null
	ui_wait
}

# Waits until iken has painted and waits for a key again (at most 10 s).
ui_wait() {
	before=${1:-}
	i=0
	while [ $i -lt 200 ]; do
		if [ -s "$IDLE" ]; then
			now=$(cat "$IDLE" 2>/dev/null)
			[ -n "$now" ] && [ "$now" != "$before" ] && { sleep 0.05; return 0; }
		fi
		if tmux -S "$SOCK" list-panes -t t -F '#{pane_dead}' 2>/dev/null | grep -q 1; then
			return 0
		fi
		sleep 0.05
		i=$((i + 1))
	done
	echo "# ui_wait: iken did not become idle"
	return 1
}

# ui_keys KEY… : tmux key names (Tab, Enter, F12, Escape, BTab, NPage) or literal text with -l
ui_keys() {
	before=$(cat "$IDLE" 2>/dev/null)
	tmux -S "$SOCK" send-keys -t t "$@"
	ui_wait "$before"
}
ui_type() {
	before=$(cat "$IDLE" 2>/dev/null)
	tmux -S "$SOCK" send-keys -t t -l "$1"
	ui_wait "$before"
}

# The screen as text.
ui_screen() { tmux -S "$SOCK" capture-pane -p -t t; }

# ui_has PATTERN "description": the screen shows PATTERN (grep -E)
ui_has() {
	ui_screen > "$TMP/screen"
	grep -qE -- "$1" "$TMP/screen"; r=$?
	ok $r "$2"
	[ $r -eq 0 ] || { echo "# screen:"; sed 's/^/#   |/' "$TMP/screen"; }
}
ui_hasnt() {
	ui_screen > "$TMP/screen"
	grep -qE -- "$1" "$TMP/screen"; r=$?
	[ $r -ne 0 ]; ok $? "$2"
}

# ui_golden NAME "description": the screen equals tests/ui/golden/NAME (IKEN_UPDATE_GOLDEN=1
# rewrites it).
ui_golden() {
	ui_screen > "$TMP/screen"
	if [ -n "${IKEN_UPDATE_GOLDEN:-}" ]; then
		mkdir -p "$GOLDEN"; cp "$TMP/screen" "$GOLDEN/$1"
	fi
	same "$GOLDEN/$1" "$TMP/screen" "$2"
}

ui_pid() { tmux -S "$SOCK" list-panes -t t -F '#{pane_pid}'; }
ui_dead() { tmux -S "$SOCK" list-panes -t t -F '#{pane_dead}' | grep -q 1; }
ui_stop() { tmux -S "$SOCK" kill-session -t t 2>/dev/null; }
