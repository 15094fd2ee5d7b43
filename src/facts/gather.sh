# srplay's fact gathering, run on the target by /bin/sh (POSIX sh, no Python).
# It prints sections, each starting with a line "@@name"; src/facts/*.rs parses them
# on the controller. The variables WANT_HARDWARE, WANT_NETWORK and WANT_VIRTUAL are
# set (to 1 or 0) in front of this text by src/facts/mod.rs.
s() { printf '\n@@%s\n' "$1"; }
# A file's content, in a section only when the file exists (an empty file counts).
f() { [ -e "$1" ] && { s "file $1"; cat "$1" 2>/dev/null; }; }
have() { command -v "$1" >/dev/null 2>&1; }
# A one-line file into $v without forking (sysfs is read many times); fails when the
# file is missing, unreadable or empty.
r() { v=; { read -r v || [ -n "$v" ]; } 2>/dev/null <"$1"; }

s uname; uname -s; uname -r; uname -v; uname -m; uname -n
# Python's socket.getfqdn(): the host name's first address, then that address's names.
s fqdn; a=$(getent ahosts "$(uname -n)" 2>/dev/null | { read -r x _; echo "$x"; })
[ -n "$a" ] && getent hosts "$a" 2>/dev/null | head -n 1
for p in /var/lib/dbus/machine-id /etc/machine-id; do f "$p"; done
s bits; getconf LONG_BIT 2>/dev/null

# user: getpass.getuser() looks at these variables before the password database.
u=${LOGNAME:-${USER:-${LNAME:-${USERNAME:-$(id -un 2>/dev/null)}}}}
s user; echo "$u"; id -ru; id -u; id -rg
s passwd; { getent passwd "$u" || getent passwd "$(id -ru)" || grep "^$u:" /etc/passwd; } 2>/dev/null | head -n 1

# date_time: the local fields, the epoch with nanoseconds, and the zone's names in
# January and July (the one with the larger offset is the daylight saving name).
s date; date '+%Y|%m|%A|%w|%W|%d|%H|%M|%S|%s|%N|%Z|%z'
y=$(date +%Y)
s tznames; date -d "$y-01-01 12:00" '+%Z|%z' 2>/dev/null; date -d "$y-07-01 12:00" '+%Z|%z' 2>/dev/null

for p in /etc/altlinux-release /etc/oracle-release /etc/slackware-version \
    /etc/centos-release /etc/redhat-release /etc/vmware-release /etc/openwrt_release \
    /etc/os-release /usr/lib/os-release /etc/system-release /etc/alpine-release \
    /etc/arch-release /etc/SuSE-release /etc/gentoo-release /etc/lsb-release \
    /etc/sourcemage-release /etc/coreos/update.conf /etc/debian_version \
    /etc/resolv.conf /proc/cmdline /proc/sys/crypto/fips_enabled /proc/1/comm \
    /proc/loadavg /etc/selinux/config /sys/fs/selinux/enforce /sys/fs/selinux/policyvers; do
  f "$p"
done
have lsb_release && { s lsb_release; lsb_release -a 2>/dev/null; }
have capsh && { s capsh; capsh --print 2>/dev/null; }
s exists
for p in /sys/kernel/security/apparmor /sys/fs/selinux /run/systemd/system \
    /dev/.run/systemd /dev/.systemd /etc/init /sbin/openrc /etc/init.d /etc/dinit.d \
    /proc/xen /run/ostree-booted /usr/bin/dnf /usr/bin/microdnf /usr/bin/rpm-ostree \
    /usr/bin/yum /usr/bin/dnf-3 /usr/bin/dnf5 /usr/bin/apt-get /usr/bin/zypper /usr/sbin/urpmi \
    /usr/bin/pacman /bin/opkg /sbin/apk /usr/bin/emerge /usr/bin/xbps-install /usr/bin/swupd; do
  [ -e "$p" ] && echo "$p"
done
have initctl && echo initctl
s links; for p in /sbin/init /usr/bin/dnf /usr/bin/microdnf; do [ -L "$p" ] && echo "$p $(readlink -f "$p")"; done
# ssh_pub_keys: the first directory holding any host key.
for d in /etc/ssh /etc/openssh /etc; do
  ls "$d"/ssh_host_*_key.pub >/dev/null 2>&1 || continue
  for a in dsa rsa ecdsa ed25519; do f "$d/ssh_host_${a}_key.pub"; done
  break
done
# is_chroot: / differs from pid 1's root (device and inode); when that root cannot
# be read, / is not the file system's root inode (which depends on its type).
s chroot; echo "${debian_chroot:-}"; stat -c '%d %i' / 2>/dev/null
stat -c '%d %i' /proc/1/root/. 2>/dev/null || echo; stat -f -c %T / 2>/dev/null
s env; cat /proc/$$/environ 2>/dev/null

if [ "$WANT_HARDWARE" = 1 ]; then
  f /proc/cpuinfo; f /proc/meminfo; f /proc/uptime; f /sys/hypervisor/type
  s nproc; OMP_NUM_THREADS='' OMP_THREAD_LIMIT='' nproc 2>/dev/null
  if [ -e /sys/devices/virtual/dmi/id/product_name ]; then
    for n in bios_date bios_vendor bios_version board_asset_tag board_name board_serial \
        board_vendor board_version chassis_asset_tag chassis_serial chassis_vendor \
        chassis_version chassis_type product_name product_serial product_uuid \
        product_version sys_vendor; do
      r "/sys/devices/virtual/dmi/id/$n" && { s "dmi $n"; echo "$v"; }
    done
  fi
  s mtab; cat /etc/mtab 2>/dev/null || cat /proc/mounts
  have lsblk && { s lsblk; lsblk --list --noheadings --paths --output NAME,UUID --exclude 2 2>/dev/null; }
  # statvfs of every mount Ansible reports; mount points are written octal-escaped.
  # A dead network mount must not hang the gathering (Ansible gives each 10 s too).
  t=; have timeout && t="timeout 10"
  s statvfs
  { cat /etc/mtab 2>/dev/null || cat /proc/mounts; } | while read -r dev mnt fs _; do
    case "$dev" in /*|\\*|*:/*) ;; *) continue ;; esac
    [ "$fs" = none ] && continue
    st=$($t stat -f -c '%S %s %b %a %f %c %d' "$(printf '%b' "$mnt")" 2>/dev/null) && echo "$mnt $st"
  done
fi

if [ "$WANT_NETWORK" = 1 ] && have ip; then
  s route4; ip -4 route get 8.8.8.8 2>/dev/null
  s route6; ip -6 route get 2404:6800:400a:800::1012 2>/dev/null
  s addr_primary; ip addr show primary 2>/dev/null || ip addr show 2>/dev/null
  s addr_secondary; ip addr show secondary 2>/dev/null
  s local4; ip -4 route show table local 2>/dev/null
  s local6; ip -6 route show table local 2>/dev/null
  for d in /sys/class/net/*; do
    [ -d "$d" ] || continue
    s "iface ${d##*/}"
    for k in address mtu operstate type flags speed bridge/bridge_id bridge/stp_state \
        bonding/slaves bonding/mode bonding/miimon bonding/lacp_rate bonding/primary \
        bonding/all_slaves_active bonding_slave/perm_hwaddr; do
      r "$d/$k" && echo "$k=$v"
    done
    [ -d "$d/bridge" ] && echo "bridge=$(ls "$d/brif" 2>/dev/null | tr '\n' ' ')"
    [ -d "$d/bonding" ] && echo "bonding=1"
    [ -e "$d/device" ] && echo "pciid=$(basename "$(readlink "$d/device")")"
    [ -e "$d/device/driver/module" ] && echo "module=$(basename "$(readlink -f "$d/device/driver/module")")"
  done
fi

if [ "$WANT_VIRTUAL" = 1 ]; then
  f /proc/1/cgroup; f /run/systemd/container
  f /proc/xen/capabilities; f /proc/modules
  s virt_exists; for p in /.dockerenv /.dockerinit /proc/vz /proc/bc /proc/lve /dev/kvm /rhev; do [ -e "$p" ] && echo "$p"; done
  s pid1_environ; tr '\0' '\n' < /proc/1/environ 2>/dev/null
  s vxid; grep '^VxID:' /proc/self/status 2>/dev/null
  for n in product_name sys_vendor product_family bios_vendor; do
    f "/sys/devices/virtual/dmi/id/$n"
  done
  [ "$WANT_HARDWARE" = 1 ] || f /proc/cpuinfo
fi
:
