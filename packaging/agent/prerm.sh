# The body of the agent package's pre-removal (.deb prerm remove, .rpm %preun with nothing left): stop and
# disable the service before its files go. An upgrade keeps it running (the post-install restarts it).
if command -v systemctl >/dev/null 2>&1; then
  if [ -d /run/systemd/system ]; then
    systemctl --no-reload disable --now opsmon-agent.service >/dev/null 2>&1 || true
  else
    systemctl --no-reload disable opsmon-agent.service >/dev/null 2>&1 || true
  fi
fi
exit 0
