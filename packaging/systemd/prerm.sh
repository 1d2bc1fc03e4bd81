# Every package's service, before its own pre-removal (packaging/systemd/, added by pkgbuild.py): stopped and
# disabled before its files go. An upgrade keeps it running (the post-install restarts it).
if command -v systemctl >/dev/null 2>&1; then
  if [ -d /run/systemd/system ]; then
    systemctl --no-reload disable --now "$UNIT" >/dev/null 2>&1 || true
  else
    systemctl --no-reload disable "$UNIT" >/dev/null 2>&1 || true
  fi
fi
