# Every package's service, after its own post-removal (packaging/systemd/, added by pkgbuild.py).
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null 2>&1 || true
fi
