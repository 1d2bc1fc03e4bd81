# The body of the collector package's post-removal (.deb postrm, .rpm %postun). Even a purge keeps
# /var/lib/opsmon: the database is the estate's SLA record, deleted by a person (rm -r /var/lib/opsmon), never
# by a package tool. The user stays too (Debian policy: the database's files carry its uid).
if [ -n "$PURGE" ]; then
  rmdir /etc/opsmon/inventory 2>/dev/null || true
fi
