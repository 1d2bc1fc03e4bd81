# The body of the collector package's pre-removal (.deb prerm remove, .rpm %preun with nothing left), after
# packaging/systemd/prerm.sh stopped and disabled the service: remove what the post-install made from the wheels
# (the venv and /usr/bin/opsmon).
rm -f /usr/bin/opsmon
rm -rf /opt/opsmon-collector
