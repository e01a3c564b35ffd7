#!/bin/busybox sh
# /init of the pmem test guests. The run's archive (vm.ts) brings
# /etc/pmemctl-vm/env (MODULES=...) and /etc/pmemctl-vm/script.sh. The script
# runs in /pmemctl with stdout on /dev/ttyS1 (raw, read back by the host) and
# stderr on the console, whose last word is the exit code.
/bin/busybox --install -s /bin
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# The host tells a kernel that never reached userspace from a test that failed.
echo "PMEMCTL-VM-INIT" >/dev/console
mkdir -p /dev/shm /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs tmpfs /run
chown 1000:1000 /home/tester

MODULES=""
WAIT_FOR=""
. /etc/pmemctl-vm/env
for m in $MODULES; do
  modprobe "$m" || echo "pmemctl-vm: modprobe $m failed" >/dev/console
done
# Wait (up to 30 s) until one of WAIT_FOR (paths, or globs) exists: drivers
# probe asynchronously, and CXL's under 7.3 in TCG takes some 15 s.
i=0
while [ -n "$WAIT_FOR" ] && [ $i -lt 300 ]; do
  # shellcheck disable=SC2086 # a glob, on purpose
  for dev in $WAIT_FOR; do ls -d $dev >/dev/null 2>&1 && break 2; done
  sleep 0.1
  i=$((i + 1))
done

stty -F /dev/ttyS1 raw -echo
export HOME=/root DENO_DIR=/tmp/deno-dir DENO_NO_UPDATE_CHECK=1 NO_COLOR=1 PMEMCTL_IN_VM=1
cd /pmemctl
sh /etc/pmemctl-vm/script.sh >/dev/ttyS1 2>/dev/console </dev/null
rc=$?
sync
echo "PMEMCTL-VM-EXIT=$rc" >/dev/console
poweroff -f
