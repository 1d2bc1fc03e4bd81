# The body of the agent package's post-install, for .deb (postinst configure) and .rpm (%post) alike;
# packaging/agent_packages.py puts each format's header before it, which sets UPGRADE (empty on a first
# install). Safe to run again: every step checks first. packaging/systemd/postinst.sh then enables the unit;
# it starts only once enrolled (the package's drop-in: ConditionPathExists= the token file).
USER=opsmon-agent
HOME_DIR=/var/lib/opsmon-agent
# The dedicated, unprivileged system user the unit runs as (the opsmon_agent role makes the same one).
getent group "$USER" >/dev/null || groupadd --system "$USER"
getent passwd "$USER" >/dev/null || useradd --system --gid "$USER" --home-dir "$HOME_DIR" --no-create-home \
  --shell /usr/sbin/nologin --comment "opsmon host agent" "$USER"
# Its spool (reports kept while the collector is unreachable): the only path the unit may write.
install -d -o "$USER" -g "$USER" -m 0750 "$HOME_DIR"
install -d -o "$USER" -g "$USER" -m 0700 "$HOME_DIR/spool"
# The agent refuses a config or token file that group or others can read, and reads them as its user.
for f in /etc/opsmon/agent.toml /etc/opsmon/agent.token; do
  if [ -e "$f" ]; then
    chown "$USER:$USER" "$f"
    chmod 0600 "$f"
  fi
done
