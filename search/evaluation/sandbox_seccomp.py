"""The seccomp filter of the isolated sandbox: no new processes, no kernel attack surface it needs.

bubblewrap installs a compiled classic-BPF program (``--seccomp FD``) just before it
starts the interpreter. This module writes that program for x86-64; on other
architectures :func:`seccomp_filter` returns ``None`` and the sandbox relies on its
namespaces and limits alone (``docs/security.md``).

The filter:

- refuses ``fork``, ``vfork`` and every ``clone`` without ``CLONE_THREAD``: the program
  may start threads but no process, so a fork bomb or a helper that outlives it cannot
  exist (this also holds when the caller is root, where ``RLIMIT_NPROC`` is not
  enforced); ``clone3`` answers ``ENOSYS``, and the C library falls back to ``clone``;
- refuses the calls that reach other processes or the kernel's rarer corners:
  ``ptrace``, ``process_vm_*``, ``pidfd_*``, ``bpf``, ``perf_event_open``,
  ``userfaultfd``, ``io_uring_*``, ``keyctl``, ``mount`` and the new mount API,
  ``unshare``, ``setns``, module loading, ``kexec``, ``reboot``, ``personality``;
- kills the process on a foreign architecture or an x32 system call.

Refused calls fail with ``EPERM``, which Python raises as ``PermissionError``.
"""

from __future__ import annotations

import platform
import struct

__all__ = ["seccomp_filter"]

_AUDIT_ARCH_X86_64 = 0xC000003E
_X32_BIT = 0x40000000
_CLONE_THREAD = 0x00010000
_EPERM = 1
_ENOSYS = 38

# BPF opcodes (linux/filter.h) and seccomp return values (linux/seccomp.h).
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_JSET_K = 0x45
_RET_K = 0x06
_RET_KILL_PROCESS = 0x80000000
_RET_ERRNO = 0x00050000
_RET_ALLOW = 0x7FFF0000

_OFFSET_NR = 0
_OFFSET_ARCH = 4
_OFFSET_ARG0 = 16  # the low 32 bits of args[0] (little-endian)

_X86_64_CLONE = 56
_X86_64_CLONE3 = 435
_X86_64_REFUSED = (
    57,  # fork
    58,  # vfork
    101,  # ptrace
    103,  # syslog
    135,  # personality
    155,  # pivot_root
    165,  # mount
    166,  # umount2
    169,  # reboot
    175,  # init_module
    176,  # delete_module
    246,  # kexec_load
    248,  # add_key
    249,  # request_key
    250,  # keyctl
    272,  # unshare
    298,  # perf_event_open
    304,  # open_by_handle_at
    308,  # setns
    310,  # process_vm_readv
    311,  # process_vm_writev
    313,  # finit_module
    320,  # kexec_file_load
    321,  # bpf
    323,  # userfaultfd
    424,  # pidfd_send_signal
    425,  # io_uring_setup
    426,  # io_uring_enter
    427,  # io_uring_register
    428,  # open_tree
    429,  # move_mount
    430,  # fsopen
    431,  # fsconfig
    432,  # fsmount
    433,  # fspick
    434,  # pidfd_open
    438,  # pidfd_getfd
    442,  # mount_setattr
)


def _op(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def seccomp_filter() -> bytes | None:
    """The compiled filter for this machine, or ``None`` where none is written (not x86-64)."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return None
    checks = [*_X86_64_REFUSED, _X86_64_CLONE3, _X86_64_CLONE]
    head = [
        _op(_LD_W_ABS, _OFFSET_ARCH),
        _op(_JEQ_K, _AUDIT_ARCH_X86_64, jt=1),
        _op(_RET_K, _RET_KILL_PROCESS),
        _op(_LD_W_ABS, _OFFSET_NR),
        _op(_JGE_K, _X32_BIT, jt=0, jf=1),
        _op(_RET_K, _RET_KILL_PROCESS),
    ]
    # After the checks: allow, EPERM, ENOSYS, then clone's flag test.
    n = len(checks)
    body = []
    for index, number in enumerate(checks):
        to_allow = n - index - 1  # jumps skip the checks that follow this one
        if number == _X86_64_CLONE3:
            target = to_allow + 2
        elif number == _X86_64_CLONE:
            target = to_allow + 3
        else:
            target = to_allow + 1
        body.append(_op(_JEQ_K, number, jt=target))
    tail = [
        _op(_RET_K, _RET_ALLOW),
        _op(_RET_K, _RET_ERRNO | _EPERM),
        _op(_RET_K, _RET_ERRNO | _ENOSYS),
        _op(_LD_W_ABS, _OFFSET_ARG0),
        _op(_JSET_K, _CLONE_THREAD, jt=0, jf=1),
        _op(_RET_K, _RET_ALLOW),
        _op(_RET_K, _RET_ERRNO | _EPERM),
    ]
    return b"".join(head + body + tail)
