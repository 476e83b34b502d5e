"""The seccomp allow-list that every sandboxed process runs under.

The filter is compiled once, in the runner, to a classic BPF program (`libseccomp` through
PyPI `pyseccomp`) and handed to bubblewrap with `--seccomp FD`, so it is in force before the
sandbox's first instruction of Python or JavaScript runs; the fallback mode loads the same
bytes with `prctl` from the bootstrap before user code is read.

Default action: `EPERM`. Runtimes treat `EPERM` as "not available here" and carry on, where a
kill would turn an optional probe (V8 asking for memory protection keys, glibc trying
`clone3`) into a crash. Denied on purpose: every socket family but `AF_UNIX`, `ptrace` and
`process_vm_*`, mounts and namespaces (`mount`, `unshare`, `setns`, `clone` with `CLONE_NEW*`),
`bpf`, `perf_event_open`, kernel modules, `kexec`, `keyctl`, `userfaultfd`, `io_uring`,
`open_by_handle_at`, `execveat`, uid/gid changes, clocks, `reboot`, `swapon`, `mknod`.
"""

from __future__ import annotations

import errno
import socket
import tempfile
from functools import cache

# Everything a CPython or Deno process needs for computing, files in its own scratch
# directory, threads, timers and pipes. Names unknown to this architecture are skipped.
_ALLOWED_TEXT = """
read write readv writev pread64 pwrite64 preadv pwritev preadv2 pwritev2 open openat close close_range
stat fstat lstat newfstatat statx lseek access faccessat faccessat2 readlink readlinkat getdents getdents64
fcntl dup dup2 dup3 pipe pipe2 ioctl fsync fdatasync ftruncate truncate rename renameat renameat2
unlink unlinkat mkdir mkdirat rmdir link linkat symlink symlinkat chmod fchmod fchmodat chown fchown
fchownat lchown utime utimes utimensat futimesat getcwd chdir fchdir umask flock fadvise64 fallocate
sendfile copy_file_range splice tee memfd_create statfs fstatfs sync_file_range
select pselect6 poll ppoll epoll_create epoll_create1 epoll_ctl epoll_wait epoll_pwait epoll_pwait2
eventfd eventfd2 timerfd_create timerfd_settime timerfd_gettime signalfd signalfd4
mmap munmap mprotect mremap madvise brk msync mincore membarrier pkey_alloc pkey_free pkey_mprotect
get_mempolicy
fork vfork execve exit exit_group wait4 waitid kill tgkill tkill getpid getppid gettid getuid geteuid
getgid getegid getgroups getresuid getresgid getpgrp getpgid getsid setsid setpgid set_tid_address
set_robust_list get_robust_list rseq futex futex_waitv sched_yield sched_getaffinity sched_setaffinity
sched_getparam sched_getscheduler sched_get_priority_max sched_get_priority_min getpriority prctl
arch_prctl prlimit64 getrlimit setrlimit getrusage sysinfo uname times capget seccomp
rt_sigaction rt_sigprocmask rt_sigreturn rt_sigsuspend rt_sigpending rt_sigtimedwait sigaltstack pause
alarm clock_gettime clock_getres clock_nanosleep nanosleep gettimeofday time getitimer setitimer
timer_create timer_settime timer_gettime timer_delete timer_getoverrun getrandom
bind listen accept accept4 connect sendto recvfrom sendmsg recvmsg sendmmsg recvmmsg shutdown
getsockopt setsockopt getsockname getpeername
"""
_ALLOWED = _ALLOWED_TEXT.split()

# CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET | NEWTIME
_CLONE_NAMESPACE_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000 | 0x80


@cache
def filter_bpf() -> bytes:
    """The compiled BPF program (struct sock_filter[]), built once per process.

    Raises:
        OSError: libseccomp (`libseccomp.so.2`) is missing or refused the rules.
    """
    import pyseccomp as sc  # imported here: loads libseccomp through ctypes

    policy = sc.SyscallFilter(sc.ERRNO(errno.EPERM))
    for name in _ALLOWED:
        try:
            policy.add_rule(sc.ALLOW, name)
        except (OSError, ValueError):
            continue  # not a syscall on this architecture
    policy.add_rule(sc.ALLOW, "socket", sc.Arg(0, sc.EQ, socket.AF_UNIX))
    policy.add_rule(sc.ALLOW, "socketpair", sc.Arg(0, sc.EQ, socket.AF_UNIX))
    policy.add_rule(sc.ALLOW, "clone", sc.Arg(0, sc.MASKED_EQ, _CLONE_NAMESPACE_FLAGS, 0))
    # clone3 passes its flags in memory, where a filter cannot look; ENOSYS makes glibc fall back to clone.
    policy.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    with tempfile.TemporaryFile() as handle:
        policy.export_bpf(handle)
        handle.seek(0)
        return handle.read()
