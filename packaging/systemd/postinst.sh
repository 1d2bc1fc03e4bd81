# Every package's service, after its own post-install (packaging/systemd/, added by pkgbuild.py): enabled at
# once; under a running systemd, started on a first install and restarted on an upgrade.
if command -v systemctl >/dev/null 2>&1; then
  systemctl enable "$UNIT" >/dev/null 2>&1 || true
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload || true
    if [ -n "$UPGRADE" ]; then
      systemctl try-restart "$UNIT" || true
    else
      systemctl start "$UNIT" || true
    fi
  fi
fi
