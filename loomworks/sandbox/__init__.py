"""Code sandbox: runs untrusted Python and JavaScript in bubblewrap with rlimits and seccomp."""
