#!/usr/bin/env bash
# Makes the two base images the Dockerfile builds FROM (debian:12 and debian:12-slim) from
# Debian's own mirror with mmdebstrap and tags them under their registry names, for machines
# that build with podman and cannot pull from a registry. The images follow the official ones
# (debuerreotype): variant minbase, the same APT clean-up configuration in
# /etc/apt/apt.conf.d/docker-*, and for the slim one the same dpkg path excludes (no manuals,
# documentation apart from copyright files, or translations), so image sizes compare.
#
# Usage: tests/image/make-debian-base.sh [--force]
#   --force   rebuild even when both tags already exist
# Environment: DEBIAN_MIRROR (default: http://deb.debian.org/debian), DEBIAN_SECURITY_MIRROR
# The hooks' "$1" (the root being built) is expanded by mmdebstrap, not here.
# shellcheck disable=SC2016
set -euo pipefail

force=false
[[ "${1:-}" == "--force" ]] && force=true

full=docker.io/library/debian:12
slim=docker.io/library/debian:12-slim
if ! $force && podman image exists "$full" && podman image exists "$slim"; then
  echo "base images present: $full $slim"
  exit 0
fi

mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security=${DEBIAN_SECURITY_MIRROR:-${mirror%/debian}/debian-security}
sources=(
  "deb $mirror bookworm main"
  "deb $mirror bookworm-updates main"
  "deb $security bookworm-security main"
)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The official images' files, word for word where it matters.
# As in the official images: no binary package caches. Their files stay until removed, so a
# Dockerfile must still delete /var/cache/apt/archives/*.deb and /var/lib/apt/lists/*.
printf 'Dir::Cache::pkgcache "";\nDir::Cache::srcpkgcache "";\n' >"$work/docker-clean"
printf 'Apt::AutoRemove::SuggestsImportant "false";\n' >"$work/docker-autoremove-suggests"
printf 'Acquire::GzipIndexes "true";\n' >"$work/docker-gzip-indexes"
printf 'Acquire::Languages "none";\n' >"$work/docker-no-languages"
printf 'force-unsafe-io\n' >"$work/docker-apt-speedup"
cat >"$work/docker-slim" <<'CONF'
# This is the "slim" variant of the Debian base image.
path-exclude /usr/share/doc/*
# we need to keep copyright files for legal reasons
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
CONF

# The configuration goes in before the packages, so the slim excludes apply to every package.
setup_hook="mkdir -p \"\$1/etc/apt/apt.conf.d\" \"\$1/etc/dpkg/dpkg.cfg.d\"
  for f in docker-clean docker-autoremove-suggests docker-gzip-indexes docker-no-languages; do
    cp '$work'/\$f \"\$1/etc/apt/apt.conf.d/\$f\"
  done
  cp '$work/docker-apt-speedup' \"\$1/etc/dpkg/dpkg.cfg.d/docker-apt-speedup\""

# The slim variant: dpkg skips the excluded paths of every package installed from now on, and
# what the extraction of the essential packages wrote there is deleted, as debuerreotype's
# slimify does.
slim_setup_hook="cp '$work/docker-slim' \"\$1/etc/dpkg/dpkg.cfg.d/docker\""
slim_customize_hook='cd "$1"/usr/share
  find doc -mindepth 1 ! -type d ! -name copyright -delete
  find doc -mindepth 1 -type d -empty -delete
  rm -rf man/* groff/* info/* lintian/* linda/*
  find locale -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} +'

make_image() {  # make_image TAG [EXTRA_SETUP_HOOK EXTRA_CUSTOMIZE_HOOK]
  local tag=$1 extra=${2:-} extra_customize=${3:-} tar="$work/rootfs.tar"
  echo "== mmdebstrap $tag"
  # merged-usr: the /usr merge done as debootstrap does, without the usrmerge package (and the
  # perl it pulls in), as in the official images.
  mmdebstrap --variant=minbase --format=tar --quiet \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --setup-hook="$setup_hook" ${extra:+--setup-hook="$extra"} \
    ${extra_customize:+--customize-hook="$extra_customize"} \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/archives/*.deb "$1"/var/cache/apt/*.bin "$1"/var/log/apt/* "$1"/tmp/*' \
    bookworm "$tar" "${sources[@]}"
  podman import --change 'CMD ["bash"]' --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    "$tar" "$tag" >/dev/null
  rm -f "$tar"
  echo "$tag: $(podman image inspect --format '{{.Size}}' "$tag") bytes"
}

if $force || ! podman image exists "$full"; then make_image "$full"; fi
if $force || ! podman image exists "$slim"; then make_image "$slim" "$slim_setup_hook" "$slim_customize_hook"; fi
