#!/bin/sh
# The screens through a real sshd on 127.0.0.1: the test starts its own sshd with throwaway host
# and user keys, logs in with ssh -t inside tmux, and checks that the screen arrives and works.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/ui/lib.sh"
SSHD=$(command -v sshd || echo /usr/sbin/sshd)
if [ ! -x "$SSHD" ] || ! command -v ssh >/dev/null || [ "$(id -u)" != 0 ]; then
	echo "ok 1 # SKIP sshd, ssh or root not available"
	echo "1..1"
	exit 0
fi
D="$TMP/data"
"$IKEN" --data "$D" init >/dev/null
K="$TMP/ssh"
mkdir -p "$K" /run/sshd
chmod 700 "$K"
ssh-keygen -q -t ed25519 -N '' -f "$K/host" >/dev/null
ssh-keygen -q -t ed25519 -N '' -f "$K/user" >/dev/null
cp "$K/user.pub" "$K/authorized_keys"
# a free port from the loopback range
port=$(( 20000 + $$ % 20000 ))
cat > "$K/sshd_config" <<CONF
Port $port
ListenAddress 127.0.0.1
HostKey $K/host
PidFile $K/sshd.pid
AuthorizedKeysFile $K/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
AcceptEnv LANG LC_ALL TZ IKEN_*
CONF
"$SSHD" -f "$K/sshd_config" -E "$K/sshd.log"
ok $? "sshd started on 127.0.0.1:$port"
i=0
while [ ! -s "$K/sshd.pid" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
stop_sshd() { [ -s "$K/sshd.pid" ] && kill "$(cat "$K/sshd.pid")" 2>/dev/null; }
trap 'stop_sshd; tmux -S "$SOCK" kill-server 2>/dev/null; rm -rf "$TMP"' EXIT

user=$(id -un)
# The remote side runs iken with the test's pinned environment; IKEN_TEST_IDLE is written on
# this same machine, so the harness can wait for idleness through the connection too.
ui_start --cmd -- sh -c "exec ssh -tt -p $port -i $K/user -o StrictHostKeyChecking=no \
	-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR $user@127.0.0.1 \
	env TERM=xterm-256color LANG=C.UTF-8 LC_ALL=C.UTF-8 TZ=Asia/Tokyo \
	IKEN_FORMS=$IKEN_FORMS IKEN_TEST_NOW=$IKEN_TEST_NOW IKEN_TEST_USER=$IKEN_TEST_USER \
	IKEN_TEST_IDLE=$IDLE IKEN_TEST_NO_POLL=1 $IKEN --data $D"
ui_has "Applicants" "the main menu arrives over SSH"
ui_has "1Help" "with the function-key bar"
ui_keys Escape 1
ui_has "show the keys" "Esc 1 opens the help screen over SSH"
ui_keys F2
ui_has "Opinion and invoice submission" "F2 goes back"
ui_keys F2
sleep 0.5
ui_screen > "$TMP/screen"
grep -q "Connection to 127.0.0.1 closed" "$TMP/screen" || ui_dead; ok $? "quitting ends the session cleanly"
done_testing
