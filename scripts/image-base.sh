#!/usr/bin/env bash
# Builds a local stand-in for the base image `node:20-bookworm-slim` where it cannot be pulled:
# a minimal Debian bookworm root filesystem (debootstrap, from Debian's own packages) plus this
# machine's Node 20 at the official image's paths (/usr/local/bin/node, npm under
# /usr/local/lib/node_modules), a `node` user and group with id 1000 and home /home/node, and the
# official image's entrypoint, environment and CMD. Imported into podman's storage under the
# official name, so the Dockerfile builds against it unchanged.
#   usage: scripts/image-base.sh <podman storage options...>   (as root)
set -euo pipefail
NAME=docker.io/library/node:20-bookworm-slim
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

node_bin=$(command -v node)
node_version=$("$node_bin" --version)
case "$node_version" in v20.*) ;; *) echo "image-base: needs Node 20 here, found $node_version" >&2; exit 1 ;; esac
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
command -v debootstrap >/dev/null || { echo "image-base: apt-get install debootstrap" >&2; exit 1; }

root=$(mktemp -d /var/tmp/bff-node-base.XXXXXX)
trap 'rm -rf "$root"' EXIT
# mktemp makes the directory 0700, and it becomes the image's `/`: only root could use it.
chmod 0755 "$root"
echo "image-base: debootstrap bookworm (minbase) from $MIRROR" >&2
debootstrap --variant=minbase bookworm "$root" "$MIRROR" >"$root.log" 2>&1 ||
  { tail -5 "$root.log" >&2; exit 1; }
rm -f "$root.log"

# What the official Dockerfile for node:20-bookworm-slim leaves in place.
install -m 0755 "$node_bin" "$root/usr/local/bin/node"
mkdir -p "$root/usr/local/lib/node_modules"
cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
chroot "$root" groupadd --gid 1000 node
chroot "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
cat >"$root/usr/local/bin/docker-entrypoint.sh" <<'SH'
#!/bin/sh
set -e
# Run node when the first argument is an option or not a command on PATH.
if [ "${1#-}" != "${1}" ] || [ -z "$(command -v "${1}")" ] || { [ -f "${1}" ] && ! [ -x "${1}" ]; }; then
  set -- node "$@"
fi
exec "$@"
SH
chmod 0755 "$root/usr/local/bin/docker-entrypoint.sh"
chroot "$root" apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/tmp/*

tar -C "$root" --numeric-owner -cf - . |
  podman "$@" import --message "local stand-in for node:20-bookworm-slim, Node $node_version" \
    --change "ENV NODE_VERSION=${node_version#v}" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENTRYPOINT ["docker-entrypoint.sh"]' \
    --change 'CMD ["node"]' \
    - "$NAME" >/dev/null
echo "image-base: $NAME is a local stand-in (Debian bookworm, Node $node_version)" >&2
