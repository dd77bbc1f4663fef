#!/usr/bin/env bash
# make image-base: a Debian bookworm base image built from Debian's own packages, for
# machines that reach deb.debian.org but no container registry (docker.io, ghcr.io, quay.io).
# Then: make image IMAGE_BASE=localhost/debian:bookworm-slim
#
# debootstrap --variant=minbase (essential and required packages, apt), trimmed as the
# official debian:bookworm-slim is: no documentation, man pages or locales (dpkg
# path-exclude, so later apt-get installs leave them out too), no apt lists or caches, the
# deb822 sources of bookworm, bookworm-updates and bookworm-security. Needs root and
# debootstrap (Debian package); about two minutes, 80 MB.
#
# Usage: scripts/debian-base.sh [NAME]   (default localhost/debian:bookworm-slim)
# Environment: IMAGE_TOOL (podman, buildah or docker; default podman), DEBIAN_MIRROR.
set -euo pipefail
NAME=${1:-localhost/debian:bookworm-slim}
TOOL=${IMAGE_TOOL:-podman}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
say() { printf 'image-base: %s\n' "$*" >&2; }
die() { printf 'image-base: error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "debootstrap needs root (run as root or with sudo)"
command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap"
command -v "$TOOL" >/dev/null || die "$TOOL is missing: apt-get install podman (or set IMAGE_TOOL)"

work=$(mktemp -d -p "${TMPDIR:-/var/tmp}" debian-base.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs

say "debootstrap --variant=minbase $SUITE from $MIRROR into $root"
debootstrap --variant=minbase --arch=amd64 "$SUITE" "$root" "$MIRROR" >"$work/debootstrap.log" 2>&1 \
  || { tail -n 20 "$work/debootstrap.log" >&2; die "debootstrap failed (log above)"; }

# What debian:bookworm-slim does (debuerreotype's slimify and its apt/dpkg settings).
cat > "$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
# Leave out documentation, man pages and translations, as debian:bookworm-slim does.
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/man/*
EOF
cat > "$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
printf 'Acquire::Languages "none";\n' > "$root/etc/apt/apt.conf.d/docker-no-languages"
printf 'Acquire::GzipIndexes "true";\n' > "$root/etc/apt/apt.conf.d/docker-gzip-indexes"
printf 'Apt::AutoRemove::SuggestsImportant "false";\n' > "$root/etc/apt/apt.conf.d/docker-autoremove-suggests"
rm -f "$root/etc/apt/sources.list"
cat > "$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$root"/usr/share/{groff,info,linda,lintian,man}/* "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* \
  "$root"/var/log/* "$root"/tmp/* "$root"/var/tmp/*
find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
# Host files debootstrap copied in: the runtime provides these.
: > "$root/etc/resolv.conf"
: > "$root/etc/hostname"
: > "$root/etc/machine-id"

say "importing $(du -sh "$root" | cut -f1) as $NAME"
case $TOOL in
  buildah)
    ctr=$(buildah from scratch)
    mnt=$(buildah mount "$ctr")
    tar -C "$root" --numeric-owner -cf - . | tar -C "$mnt" --numeric-owner -xpf -
    buildah umount "$ctr" >/dev/null
    buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd bash "$ctr"
    buildah commit --rm "$ctr" "$NAME" >/dev/null ;;
  *)
    tar -C "$root" --numeric-owner -cf - . | "$TOOL" import -q \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'CMD ["bash"]' - "$NAME" >/dev/null ;;
esac
say "$NAME: $("$TOOL" image inspect --format '{{.Size}}' "$NAME" 2>/dev/null || echo '?') bytes"
