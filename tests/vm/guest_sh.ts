/** Shell functions the guest scripts share (busybox sh). */

/**
 * Shell helpers for the guest: `active J` is true when the journal's
 * newest header (higher "seq" of its two slots) has a window under test;
 * `held PID FILE` waits until PID holds a flock on FILE; `rc NAME CMD…` prints
 * `@@NAME <exit code>` and the command's one-line stderr as `@@NAME.err`.
 */
export const HELPERS = String.raw`
slot() { dd if="$1" bs=4096 skip="$2" count=1 2>/dev/null | head -c 4064 | tr -d '\000'; }
seq_of() { echo "$1" | grep -o '"seq":[0-9]*' | cut -d: -f2; }
active() {
  a=$(slot "$1" 0); b=$(slot "$1" 1)
  if [ "$(seq_of "$a")0" -gt "$(seq_of "$b")0" ]; then n="$a"; else n="$b"; fi
  echo "$n" | grep -q '"active":true'
}
held() {
  # PID holds a flock on FILE (its inode: deno takes flocks of its own).
  ino=$(stat -L -c %i "$2")
  i=0
  while ! grep -Eq " FLOCK .* $1 [0-9a-f]+:[0-9a-f]+:$ino " /proc/locks && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done
}
rc() {
  name=$1; shift
  "$@" >/dev/null 2>/tmp/err; echo "@@$name $?"
  echo "@@$name.err $(grep '^pmemctl: ' /tmp/err | grep -v warning | head -1)"
  echo "@@$name.lines $(grep -vc 'warning' /tmp/err)"
}
`;
