"""Runs a command under the kernel-side restrictions a systemd unit file asks for, without systemd.

    python3 unit_sandbox.py UNIT_FILE -- COMMAND [ARGS...]

Reads the unit's [Service] section and applies what systemd would install as a seccomp filter before
exec'ing the service (systemd 252 semantics): SystemCallFilter= (allow list and ~deny lists, groups expanded
by `systemd-analyze syscall-filter`, plus @default as systemd adds it to allow lists) with
SystemCallErrorNumber=, SystemCallArchitectures=native, RestrictAddressFamilies= (other families get
EAFNOSUPPORT), MemoryDenyWriteExecute= (no writable+executable mmap, no mprotect/pkey_mprotect adding
PROT_EXEC, no SHM_EXEC), RestrictNamespaces=yes (clone3 gets ENOSYS so libc falls back to clone; clone and
unshare with CLONE_NEW* flags, and setns, get EPERM) and NoNewPrivileges=. As root it first becomes nobody
(65534), as DynamicUser= would run it as an unprivileged user. The filesystem settings (ProtectSystem=,
PrivateTmp=, ...) need mount namespaces and are not applied.

test_packaging.py uses it to check that engram serves under engram.service's filter, and that the filter
really refuses what it should (so a passing run means something).
"""
import ctypes
import errno
import functools
import os
import platform
import re
import struct
import subprocess
import sys

UNISTD = "/usr/include/x86_64-linux-gnu/asm/unistd_64.h"
AUDIT_ARCH_X86_64 = 0xC000003E
X32_SYSCALL_BIT = 0x40000000

# seccomp return values and classic BPF opcodes.
RET_ALLOW = 0x7FFF0000
RET_KILL_PROCESS = 0x80000000
RET_ERRNO = 0x00050000
LD_W_ABS = 0x20
JEQ_K = 0x15
JGE_K = 0x35
JSET_K = 0x45
AND_K = 0x54
RET_K = 0x06
OFF_NR, OFF_ARCH = 0, 4


def OFF_ARG(i):
    return 16 + 8 * i  # low 32 bits of argument i (little-endian)


PROT_WRITE, PROT_EXEC = 0x2, 0x4
SHM_EXEC = 0o100000
CLONE_NEW_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000 | 0x80
FAMILIES = {"AF_UNIX": 1, "AF_LOCAL": 1, "AF_INET": 2, "AF_INET6": 10, "AF_NETLINK": 16, "AF_PACKET": 17}


def service_settings(unit_path):
    """Every Key=value of the [Service] section, values of repeated keys in order."""
    settings, section = {}, None
    for raw in open(unit_path, encoding="utf-8"):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        if section == "Service" and "=" in line:
            key, value = line.split("=", 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def truthy(values):
    return bool(values) and values[-1].lower() in ("yes", "true", "1", "on")


@functools.lru_cache(maxsize=None)
def syscall_numbers():
    numbers = {}
    with open(UNISTD) as f:
        for line in f:
            m = re.match(r"#define __NR_(\w+)\s+(\d+)", line)
            if m:
                numbers[m.group(1)] = int(m.group(2))
    return numbers


@functools.lru_cache(maxsize=None)
def expand(name):
    """The syscall names of `name`: a group (@…, nested groups expanded) or a single call."""
    if not name.startswith("@"):
        return frozenset([name])
    out = subprocess.run(["systemd-analyze", "syscall-filter", name], capture_output=True, text=True, check=True).stdout
    names = set()
    for line in out.splitlines()[1:]:
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        names |= expand(entry)
    return frozenset(names)


def allowed_syscalls(settings):
    """systemd's reading of SystemCallFilter= lines: the first decides allow list or deny list."""
    lines = settings.get("SystemCallFilter", [])
    if not lines:
        return None  # no filter
    allow_list = not lines[0].startswith("~")
    allowed = set(expand("@default")) if allow_list else None
    denied = set()
    for value in lines:
        invert = value.startswith("~")
        names = set()
        for item in value.lstrip("~").split():
            names |= expand(item)
        if allow_list:
            allowed = (allowed - names) if invert else (allowed | names)
        else:
            denied = (denied | names) if invert else (denied - names)
    numbers = syscall_numbers()
    if allow_list:
        return {numbers[n] for n in allowed if n in numbers}
    return ("deny", {numbers[n] for n in denied if n in numbers})


def error_return(settings):
    values = settings.get("SystemCallErrorNumber")
    if not values:
        return RET_KILL_PROCESS
    return RET_ERRNO | getattr(errno, values[-1])


class Program:
    """A classic BPF program with forward jumps to labels."""

    def __init__(self):
        self.code, self.labels, self.fixups = [], {}, []

    def emit(self, op, k=0, jt=0, jf=0):
        self.code.append([op, jt, jf, k])

    def jump(self, op, k, jt_label=None, jf_label=None):
        self.fixups.append((len(self.code), jt_label, jf_label))
        self.emit(op, k)

    def label(self, name):
        self.labels[name] = len(self.code)

    def assemble(self):
        for at, jt, jf in self.fixups:
            for slot, label in ((1, jt), (2, jf)):
                if label is not None:
                    offset = self.labels[label] - at - 1
                    assert 0 <= offset <= 255, f"jump to {label} too far"
                    self.code[at][slot] = offset
        return b"".join(struct.pack("HBBI", op, jt, jf, k) for op, jt, jf, k in self.code)


def build_filter(settings):
    numbers = syscall_numbers()
    allowed = allowed_syscalls(settings)
    deny = error_return(settings)
    mdwe = truthy(settings.get("MemoryDenyWriteExecute"))
    namespaces = truthy(settings.get("RestrictNamespaces"))
    families = None
    if settings.get("RestrictAddressFamilies"):
        families = {FAMILIES[f] for f in " ".join(settings["RestrictAddressFamilies"]).split()}
    native = "native" in " ".join(settings.get("SystemCallArchitectures", []))

    def is_allowed(nr):
        if allowed is None:
            return True
        if isinstance(allowed, tuple):
            return nr not in allowed[1]
        return nr in allowed

    p = Program()
    p.emit(LD_W_ABS, OFF_ARCH)
    p.jump(JEQ_K, AUDIT_ARCH_X86_64, jt_label="arch_ok")
    p.emit(RET_K, RET_KILL_PROCESS if native else RET_ALLOW)
    p.label("arch_ok")
    p.emit(LD_W_ABS, OFF_NR)
    if native:
        p.jump(JGE_K, X32_SYSCALL_BIT, jf_label="not_x32")
        p.emit(RET_K, deny)
        p.label("not_x32")

    # Calls whose arguments matter: each block returns on every path, and is skipped for other calls.
    def arg_block(name, build):
        nr = numbers[name]
        if not is_allowed(nr):
            return
        skip = f"skip_{name}"
        p.jump(JEQ_K, nr, jf_label=skip)
        build()
        p.label(skip)
        p.emit(LD_W_ABS, OFF_NR)

    def refuse_if_set(arg, mask, err):
        def build():
            p.emit(LD_W_ABS, OFF_ARG(arg))
            p.emit(JSET_K, mask, 0, 1)
            p.emit(RET_K, RET_ERRNO | err)
            p.emit(RET_K, RET_ALLOW)
        return build

    if families is not None:
        def socket_block():
            p.emit(LD_W_ABS, OFF_ARG(0))
            for fam in sorted(families):
                p.emit(JEQ_K, fam, 0, 1)
                p.emit(RET_K, RET_ALLOW)
            p.emit(RET_K, RET_ERRNO | errno.EAFNOSUPPORT)
        arg_block("socket", socket_block)
    if mdwe:
        def mmap_block():
            p.emit(LD_W_ABS, OFF_ARG(2))
            p.emit(AND_K, PROT_WRITE | PROT_EXEC)
            p.emit(JEQ_K, PROT_WRITE | PROT_EXEC, 0, 1)
            p.emit(RET_K, RET_ERRNO | errno.EPERM)
            p.emit(RET_K, RET_ALLOW)
        arg_block("mmap", mmap_block)
        arg_block("mprotect", refuse_if_set(2, PROT_EXEC, errno.EPERM))
        arg_block("pkey_mprotect", refuse_if_set(2, PROT_EXEC, errno.EPERM))
        arg_block("shmat", refuse_if_set(2, SHM_EXEC, errno.EPERM))
    if namespaces:
        if is_allowed(numbers["clone3"]):
            p.jump(JEQ_K, numbers["clone3"], jf_label="skip_clone3")
            p.emit(RET_K, RET_ERRNO | errno.ENOSYS)
            p.label("skip_clone3")
        arg_block("clone", refuse_if_set(0, CLONE_NEW_FLAGS, errno.EPERM))
        arg_block("unshare", refuse_if_set(0, CLONE_NEW_FLAGS, errno.EPERM))
        if is_allowed(numbers["setns"]):
            p.jump(JEQ_K, numbers["setns"], jf_label="skip_setns")
            p.emit(RET_K, RET_ERRNO | errno.EPERM)
            p.label("skip_setns")

    if allowed is None:
        p.emit(RET_K, RET_ALLOW)
    elif isinstance(allowed, tuple):
        for nr in sorted(allowed[1]):
            p.emit(JEQ_K, nr, 0, 1)
            p.emit(RET_K, deny)
        p.emit(RET_K, RET_ALLOW)
    else:
        for nr in sorted(allowed):
            p.emit(JEQ_K, nr, 0, 1)
            p.emit(RET_K, RET_ALLOW)
        p.emit(RET_K, deny)
    return p.assemble()


def install(settings):
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
    code = build_filter(settings)

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    buf = ctypes.create_string_buffer(code, len(code))
    prog = SockFprog(len(code) // 8, ctypes.cast(buf, ctypes.c_void_p))
    # Unprivileged seccomp needs no_new_privs; the unit sets NoNewPrivileges=yes anyway.
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP)")


def main(argv):
    if len(argv) < 4 or argv[2] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    if platform.machine() != "x86_64":
        print("unit_sandbox: x86_64 only", file=sys.stderr)
        return 2
    settings = service_settings(argv[1])
    if os.getuid() == 0:
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)
    install(settings)
    os.execv(argv[3], argv[3:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
