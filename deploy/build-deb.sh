#!/usr/bin/env bash
# Builds a Debian package of Clerk from an already built binary, with dpkg-deb alone (no
# cargo-deb, no debhelper):
#
#   deploy/build-deb.sh [BINARY] [OUTDIR]
#
# BINARY defaults to target/release/clerk (`cargo build --release --locked`), OUTDIR to
# target/debian. Prints the path of the .deb it wrote. The package holds:
#   /usr/bin/clerk                      the binary (stripped when `strip` is there)
#   /lib/systemd/system/clerk.service   deploy/clerk.service, pointed at /usr/bin/clerk
#   /etc/clerk/clerk.toml               the documented example config (a conffile)
#   /etc/clerk/credentials/             root-only, for the passwords the unit loads
#   /usr/share/doc/clerk/               README.md, deploy notes, copyright, changelog
# Installing it reloads systemd but neither enables nor starts Clerk: the example config has no
# real mailbox. Upgrading restarts Clerk only when it was running. Purging removes its data.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
binary=${1:-$root/target/release/clerk}
outdir=${2:-$root/target/debian}
[ -x "$binary" ] || { echo "build-deb.sh: no executable at $binary (cargo build --release --locked?)" >&2; exit 1; }

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -n 1)
description=$(sed -n 's/^description = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -n 1)
arch=$(dpkg --print-architecture)
package=clerk
# What the binary links against: glibc at the newest symbol version it uses, and libgcc_s for
# unwinding. (dpkg-shlibdeps would say the same, but wants a whole debian/ source tree.)
glibc=$(grep -aoE 'GLIBC_[0-9]+\.[0-9]+(\.[0-9]+)?' "$binary" | sed 's/GLIBC_//' | sort -uV | tail -n 1)
depends="libc6 (>= ${glibc:-2.36})"
if grep -aq 'libgcc_s.so.1' "$binary"; then
  depends="$depends, libgcc-s1"
fi

mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)
work=$(mktemp -d "$outdir/.build-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
tree=$work/$package
umask 022

install -d -m 0755 "$tree/DEBIAN" "$tree/usr/bin" "$tree/lib/systemd/system" "$tree/etc/clerk" \
  "$tree/usr/share/doc/$package"
install -d -m 0700 "$tree/etc/clerk/credentials"
install -m 0755 "$binary" "$tree/usr/bin/clerk"
if command -v strip >/dev/null; then
  strip --strip-unneeded --remove-section=.comment --remove-section=.note "$tree/usr/bin/clerk"
fi
sed -e 's|/usr/local/bin/clerk|/usr/bin/clerk|g' \
  -e 's|^# systemd unit for Clerk\..*|# systemd unit for Clerk, as installed by the clerk package.|' \
  -e 's|^# /etc/clerk/clerk.toml, and the passwords.*|# Config: /etc/clerk/clerk.toml; passwords: root-only files under /etc/clerk/credentials/.|' \
  "$root/deploy/clerk.service" >"$tree/lib/systemd/system/clerk.service"
chmod 0644 "$tree/lib/systemd/system/clerk.service"
# The daemon runs as a dynamic user, which must be able to read its config (it holds no secret).
install -m 0644 "$root/config/clerk.example.toml" "$tree/etc/clerk/clerk.toml"
install -m 0644 "$root/README.md" "$tree/usr/share/doc/$package/README.md"
install -m 0644 "$root/deploy/README.md" "$tree/usr/share/doc/$package/README.deploy.md"

cat >"$tree/usr/share/doc/$package/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: clerk
Source: the Clerk repository

Files: *
Copyright: the Clerk authors
License: MIT or Apache-2.0
 Licensed under either of the MIT license or the Apache License, Version 2.0, at your option.
 .
 On Debian systems, the full text of the Apache License, Version 2.0 can be found in
 /usr/share/common-licenses/Apache-2.0.
 .
 The MIT license: Permission is hereby granted, free of charge, to any person obtaining a copy
 of this software and associated documentation files (the "Software"), to deal in the Software
 without restriction, including without limitation the rights to use, copy, modify, merge,
 publish, distribute, sublicense, and/or sell copies of the Software, and to permit persons to
 whom the Software is furnished to do so, subject to the following conditions: The above
 copyright notice and this permission notice shall be included in all copies or substantial
 portions of the Software. THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND.
EOF
chmod 0644 "$tree/usr/share/doc/$package/copyright"
date=$(date -R -d "@${SOURCE_DATE_EPOCH:-$(stat -c %Y "$root/Cargo.toml")}")
printf '%s (%s) unstable; urgency=medium\n\n  * Built from the Clerk repository.\n\n -- Clerk maintainers <root@localhost>  %s\n' \
  "$package" "$version" "$date" | gzip -9n >"$tree/usr/share/doc/$package/changelog.Debian.gz"
chmod 0644 "$tree/usr/share/doc/$package/changelog.Debian.gz"

installed_kb=$(du -sk --exclude=DEBIAN "$tree" | cut -f1)
cat >"$tree/DEBIAN/control" <<EOF
Package: $package
Version: $version
Architecture: $arch
Maintainer: Clerk maintainers <root@localhost>
Installed-Size: $installed_kb
Depends: $depends
Recommends: systemd
Section: mail
Priority: optional
Homepage: https://example.org/clerk
Description: $description
 Clerk lives in a mailbox: secretaries mail it agendas and draft minutes, and it
 answers with what it understood, sends calendar invitations, carries the
 approval of the minutes through by reply, and reminds owners of open actions.
 .
 This package installs the daemon, a hardened systemd unit (not enabled) and a
 documented example configuration in /etc/clerk.
EOF
echo "/etc/clerk/clerk.toml" >"$tree/DEBIAN/conffiles"

cat >"$tree/DEBIAN/postinst" <<'EOF'
#!/bin/sh
# Makes systemd see the unit. A first install starts nothing: /etc/clerk/clerk.toml is only the
# example until it names a real mailbox and the passwords are in /etc/clerk/credentials (see
# /usr/share/doc/clerk/README.md). An upgrade restarts Clerk if it was running.
set -e
if [ "$1" = "configure" ] && [ -d /run/systemd/system ]; then
    systemctl --system daemon-reload >/dev/null || true
    if [ -n "$2" ]; then
        systemctl try-restart clerk.service >/dev/null || true
    fi
fi
exit 0
EOF

cat >"$tree/DEBIAN/prerm" <<'EOF'
#!/bin/sh
# Stops Clerk before its files go away (a running Clerk finishes its current step on SIGTERM).
set -e
if [ "$1" = "remove" ] && [ -d /run/systemd/system ]; then
    systemctl stop clerk.service >/dev/null 2>&1 || true
fi
exit 0
EOF

cat >"$tree/DEBIAN/postrm" <<'EOF'
#!/bin/sh
# Forgets the unit after removal. Purge also removes Clerk's enablement and its database in
# /var/lib/clerk (with DynamicUser= systemd keeps it in /var/lib/private/clerk).
set -e
case "$1" in
    purge)
        rm -f /etc/systemd/system/multi-user.target.wants/clerk.service
        rm -rf /var/lib/private/clerk /var/lib/clerk
        ;;
esac
if [ "$1" = "remove" ] || [ "$1" = "purge" ]; then
    if [ -d /run/systemd/system ]; then
        systemctl --system daemon-reload >/dev/null || true
    fi
fi
exit 0
EOF
chmod 0755 "$tree/DEBIAN/postinst" "$tree/DEBIAN/prerm" "$tree/DEBIAN/postrm"
chmod 0644 "$tree/DEBIAN/control" "$tree/DEBIAN/conffiles"
(cd "$tree" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) \
  >"$tree/DEBIAN/md5sums"
chmod 0644 "$tree/DEBIAN/md5sums"

deb=$outdir/${package}_${version}_${arch}.deb
dpkg-deb --root-owner-group -Z"${CLERK_DEB_COMPRESSION:-xz}" --build "$tree" "$deb" >/dev/null
echo "$deb"
