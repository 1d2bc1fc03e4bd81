# The body of the agent package's post-removal (.deb postrm, .rpm %postun); the header sets PURGE when the
# operator asked for everything to go (dpkg --purge; rpm has none: an erase keeps the spool). The spool goes with
# a purge; the user stays (Debian policy: its uid may still own files elsewhere).
if [ -n "$PURGE" ]; then
  rm -rf /var/lib/opsmon-agent
fi
