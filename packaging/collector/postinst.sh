# The body of the collector package's post-install, for .deb (postinst configure) and .rpm (%post) alike;
# packaging/pkgbuild.py puts each format's header before it (UPGRADE: empty on a first install).
# What the opsmon_collector role does on a host, from the package's wheelhouse instead of an index: no network.
set -e
USER=opsmon
STATE=/var/lib/opsmon
VENV=/opt/opsmon-collector
SHARE=/usr/share/opsmon
# The collector needs CPython 3.11 (the wheels are built for it): Debian 12's python3, RHEL 9's python3.11.
PY=""
for candidate in python3.11 python3; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
    PY=$(command -v "$candidate")
    break
  fi
done
if [ -z "$PY" ]; then
  echo "opsmon-collector: needs CPython 3.11 with venv (Debian 12: python3-venv; RHEL 9: python3.11)" >&2
  exit 1
fi
# The dedicated, unprivileged system user the unit runs as (the opsmon_collector role makes the same one).
getent group "$USER" >/dev/null || groupadd --system "$USER"
getent passwd "$USER" >/dev/null || useradd --system --gid "$USER" --home-dir "$STATE" --no-create-home \
  --shell /usr/sbin/nologin --comment "opsmon collector" "$USER"
# The database and the link key: the only path the unit may write.
install -d -o "$USER" -g "$USER" -m 0750 "$STATE"
install -d -o root -g "$USER" -m 0750 /etc/opsmon/inventory
# The config (it may hold a database URL with its password) readable by the service's group, not by others.
for f in /etc/opsmon/collector.yaml /etc/opsmon/targets.yaml; do
  if [ -e "$f" ]; then
    chown "root:$USER" "$f"
    chmod 0640 "$f"
  fi
done
# The venv, made anew at each install and upgrade from the pinned wheels shipped in the package.
rm -rf "$VENV"
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --no-index --disable-pip-version-check --no-cache-dir \
  --find-links "$SHARE/wheels" -c "$SHARE/constraints.txt" 'opsmon[collector,postgres,report]'
ln -sf "$VENV/bin/opsmon" /usr/bin/opsmon
