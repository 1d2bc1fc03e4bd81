# The body of the collector package's pre-removal (.deb prerm remove, .rpm %preun with nothing left): stop and
# disable the service, then remove what the post-install made from the wheels (the venv and /usr/bin/opsmon).
if command -v systemctl >/dev/null 2>&1; then
  if [ -d /run/systemd/system ]; then
    systemctl --no-reload disable --now opsmon-collector.service >/dev/null 2>&1 || true
  else
    systemctl --no-reload disable opsmon-collector.service >/dev/null 2>&1 || true
  fi
fi
rm -f /usr/bin/opsmon
rm -rf /opt/opsmon-collector
exit 0
