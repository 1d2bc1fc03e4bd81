# The body of the agent package's pre-removal (.deb prerm remove, .rpm %preun with nothing left): nothing of
# its own; packaging/systemd/prerm.sh before it stops and disables the service.
