#!/usr/bin/env python3
"""hcsboot.py — the Linux side of a real boot through the simulated HCS (test only).

The fake computecore.dll (test/hcs/fake/, loaded by the unmodified agent under wine) hands
the VM document it validated to this helper over TCP on 127.0.0.1, and this helper boots
QEMU from it, so that the Windows agent drives a real kernel, initrd and disk. HCS cannot
exist on Linux: this is a simulation, and what it cannot show is listed in the plan.

Protocol (one JSON object per line; HCS-PLAN.md section C):
  control connection, fake -> helper: {"op":"start","id":"<vm id>","document":{...}}
      (the document as an object, or as the JSON string the agent gave HCS)
      helper -> fake: {"event":"started"} | {"event":"failed","message":"..."}
      then fake -> helper: {"op":"shutdown"}   (QMP system_powerdown; our guest ignores it)
                           {"op":"terminate"}  (QEMU is killed)
      helper -> fake, when QEMU ends:
           {"event":"exited","exit_type":"GracefulExit|ForcedExit|UnexpectedExit","status":0}
      (guest power-off -> GracefulExit; terminate -> ForcedExit; anything else, e.g. a
      panic with panic=-1 under -no-reboot, or QEMU dying -> UnexpectedExit). The helper
      keeps the connection open after "exited" until the fake closes it; later ops are
      logged and ignored. The control connection closing kills the VM.
  console connection (a second one), first line {"op":"console","id":"<vm id>"}, then raw
      bytes both ways between it and the guest's COM1 (QEMU's serial port). Output from
      before the console connection is held (up to 4 MiB) and sent when it arrives. When
      QEMU ends, the rest of the output is sent and the console connection is closed
      (like the VM worker's pipe handle), before "exited".

From the document: VirtualMachine.Chipset.LinuxKernelDirect.{KernelFilePath,InitRdPath,
KernelCmdLine}, ComputeTopology.{Memory.SizeInMB,Processor.Count}, one SCSI VirtualDisk
(a VHDX, attached as virtio-scsi-pci + scsi-hd: the guest sees /dev/sda), at most one
NetworkAdapters entry (virtio-net with the document's MacAddress, on a tap on --bridge or
the given --tap). Windows paths are mapped through wine's drive mapping: Z:\\a\\b (also with
the \\\\?\\ prefix) -> /a/b; other drives and UNC paths are refused. `pci=off` (HCS's guests
have no PCI bus; QEMU's virtio devices are PCI) is dropped from the command line, and said
so in the log.

QEMU (TCG unless --accel kvm) runs -M q35 -nodefaults -nographic -no-reboot, paused (-S)
until the QMP monitor and the serial socket are connected, then continued. It never
outlives this helper: it is killed when its control connection closes, on terminate, on
SIGTERM/SIGINT to the helper, and (PR_SET_PDEATHSIG) when the helper dies.
"""
import argparse
import asyncio
import ctypes
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

GRACEFUL, FORCED, UNEXPECTED = "GracefulExit", "ForcedExit", "UnexpectedExit"
LINE_LIMIT = 1 << 20            # longest protocol line (the document is a few KiB)
HELD_OUTPUT_LIMIT = 4 << 20     # console output held before the console connection
FIRST_LINE_TIMEOUT = 10.0       # a new connection must say what it is within this
QEMU_READY_TIMEOUT = 30.0       # QEMU's sockets must accept within this
CONSOLE_WAIT_TIMEOUT = 30.0     # a console connection may precede its start by this much
KILL_WAIT_TIMEOUT = 10.0        # QEMU must be gone this long after SIGKILL
ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
MAC_RE = re.compile(r"[0-9A-Fa-f]{2}(-[0-9A-Fa-f]{2}){5}")
WINPATH_RE = re.compile(r"([A-Za-z]):[\\/](.*)", re.S)
DROPPED_KERNEL_ARGS = {"pci=off": "QEMU's virtio devices are PCI devices"}

log = logging.getLogger("hcsboot")


class DocError(Exception):
    """The document cannot be booted; the message says why, naming the field."""


# ---- the document -----------------------------------------------------------------------

def field(obj, path, kind, required=True):
    """obj's member at dotted path, checked to be of kind; None when optional and absent."""
    cur = obj
    walked = []
    for name in path.split("."):
        walked.append(name)
        if not isinstance(cur, dict):
            raise DocError(f"{'.'.join(walked[:-1]) or 'the document'} is not an object")
        if name not in cur:
            if required:
                raise DocError(f"{'.'.join(walked)} is missing")
            return None
        cur = cur[name]
    if kind is int and (isinstance(cur, bool) or not isinstance(cur, int)):
        raise DocError(f"{path} is not an integer: {cur!r}")
    if not isinstance(cur, kind):
        raise DocError(f"{path} is not a {kind.__name__}: {cur!r}")
    return cur


def map_windows_path(what, path):
    """Z:\\a\\b (or \\\\?\\Z:\\a\\b) -> /a/b (wine maps Z: to /); anything else is refused."""
    m = WINPATH_RE.fullmatch(path.removeprefix("\\\\?\\"))
    if not m:
        raise DocError(f"{what}: '{path}' is not an absolute Windows path (X:\\...)")
    if m.group(1).upper() != "Z":
        raise DocError(f"{what}: '{path}' is on drive {m.group(1).upper()}:, which hcsboot does "
                       "not map (only Z:, wine's mapping of /): give the agent paths under Z:\\")
    return "/" + m.group(2).replace("\\", "/").lstrip("/")


def existing_file(what, path, writable=False):
    if not os.path.isfile(path):
        raise DocError(f"{what}: {path}: no such file")
    if not os.access(path, os.R_OK | (os.W_OK if writable else 0)):
        raise DocError(f"{what}: {path}: not {'writable' if writable else 'readable'}")
    return path


def parse_disk(devices):
    scsi = field(devices, "Scsi", dict, required=False) or {}
    disks = []
    for ctl_key, ctl in scsi.items():
        atts = field(ctl, "Attachments", dict, required=False) or {}
        for lun, att in atts.items():
            where = f"VirtualMachine.Devices.Scsi.{ctl_key}.Attachments.{lun}"
            kind = field(att, "Type", str) if isinstance(att, dict) else None
            if kind != "VirtualDisk":
                raise DocError(f"{where}.Type is {kind!r}; hcsboot attaches only VirtualDisk")
            path = map_windows_path(f"{where}.Path", field(att, "Path", str))
            ro = field(att, "ReadOnly", bool, required=False) or False
            disks.append({"path": existing_file(f"{where}.Path", path, writable=not ro),
                          "readonly": ro, "lun": lun})
    if len(disks) > 1:
        raise DocError(f"{len(disks)} SCSI disks; hcsboot attaches one")
    if disks and disks[0]["lun"] != "0":
        raise DocError(f"the SCSI disk is at LUN {disks[0]['lun']!r}; hcsboot expects LUN \"0\"")
    return disks[0] if disks else None


def parse_nic(devices):
    nics = field(devices, "NetworkAdapters", dict, required=False) or {}
    if len(nics) > 1:
        raise DocError(f"{len(nics)} network adapters; hcsboot attaches one")
    for key, nic in nics.items():
        mac = field(nic, "MacAddress", str) if isinstance(nic, dict) else None
        if mac is None or not MAC_RE.fullmatch(mac):
            raise DocError(f"VirtualMachine.Devices.NetworkAdapters.{key}.MacAddress is not "
                           f"XX-XX-XX-XX-XX-XX: {mac!r}")
        return mac.replace("-", ":").lower()
    return None


def parse_document(doc):
    """The validated HCS document -> what QEMU needs (a dict), or DocError."""
    if isinstance(doc, str):  # the document as the string HCS was given
        try:
            doc = json.loads(doc)
        except ValueError as e:
            raise DocError(f"the document is not JSON: {e}") from None
    if not isinstance(doc, dict):
        raise DocError("the document is not a JSON object")
    vm = field(doc, "VirtualMachine", dict)
    lkd = "VirtualMachine.Chipset.LinuxKernelDirect"
    kernel = map_windows_path(f"{lkd}.KernelFilePath", field(doc, f"{lkd}.KernelFilePath", str))
    initrd = map_windows_path(f"{lkd}.InitRdPath", field(doc, f"{lkd}.InitRdPath", str))
    cmdline = field(doc, f"{lkd}.KernelCmdLine", str, required=False) or ""
    topo = "VirtualMachine.ComputeTopology"
    memory = field(doc, f"{topo}.Memory.SizeInMB", int)
    cpus = field(doc, f"{topo}.Processor.Count", int)
    if not 64 <= memory <= 1 << 20:
        raise DocError(f"{topo}.Memory.SizeInMB {memory} is out of range")
    if not 1 <= cpus <= 256:
        raise DocError(f"{topo}.Processor.Count {cpus} is out of range")
    devices = field(doc, "VirtualMachine.Devices", dict, required=False) or {}
    kept, dropped = [], []
    for tok in cmdline.split():
        (dropped if tok in DROPPED_KERNEL_ARGS else kept).append(tok)
    com = field(devices, "ComPorts", dict, required=False) or {}
    return {
        "kernel": existing_file(f"{lkd}.KernelFilePath", kernel),
        "initrd": existing_file(f"{lkd}.InitRdPath", initrd),
        "cmdline": " ".join(kept),
        "dropped": dropped,
        "memory_mb": memory,
        "cpus": cpus,
        "disk": parse_disk(devices),
        "mac": parse_nic(devices),
        "com1": "0" in com,
        "stop_on_reset": field(vm, "StopOnReset", bool, required=False),
    }


def qemu_opt(value):
    """A value inside a QEMU -opt list: commas are doubled."""
    return value.replace(",", ",,")


def qemu_argv(args, plan, vm_id, qmp_path, serial_path, tap):
    argv = [args.qemu, "-name", f"hcsboot-{vm_id}", "-M", "q35", "-accel", args.accel,
            "-cpu", "host" if args.accel == "kvm" else "max",
            "-smp", str(plan["cpus"]), "-m", str(plan["memory_mb"]),
            "-nodefaults", "-no-user-config", "-nographic", "-vga", "none", "-display", "none",
            "-no-reboot", "-S",
            "-kernel", plan["kernel"], "-initrd", plan["initrd"], "-append", plan["cmdline"]]
    disk = plan["disk"]
    if disk:
        ro = ",read-only=on" if disk["readonly"] else ""
        argv += ["-device", "virtio-scsi-pci,id=scsi0",
                 "-drive", f"file={qemu_opt(disk['path'])},format=vhdx,if=none,id=d0,"
                           f"cache=writeback{ro}",
                 "-device", "scsi-hd,drive=d0,bus=scsi0.0,channel=0,scsi-id=0,lun=0"]
    if plan["mac"]:
        argv += ["-netdev", f"tap,id=n0,ifname={tap},script=no,downscript=no",
                 "-device", f"virtio-net-pci,netdev=n0,mac={plan['mac']}"]
    argv += ["-chardev", f"socket,id=con,path={qemu_opt(serial_path)},server=on,wait=off",
             "-serial", "chardev:con",
             "-chardev", f"socket,id=qmp,path={qemu_opt(qmp_path)},server=on,wait=off",
             "-mon", "chardev=qmp,mode=control"]
    return argv


# ---- helpers ----------------------------------------------------------------------------

def die_with_parent(prctl, parent_pid):
    """preexec (in the child, before exec): SIGKILL when the helper dies; exit if it already
    has. prctl is libc's, looked up before the fork."""
    if prctl(1, signal.SIGKILL, 0, 0, 0) != 0:  # PR_SET_PDEATHSIG
        os._exit(96)
    if os.getppid() != parent_pid:
        os._exit(97)


async def run_cmd(argv, timeout=10.0):
    """Runs a short command; (returncode, combined output)."""
    proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        return -1, f"{argv[0]} timed out after {timeout:.0f} s"
    return proc.returncode, out.decode(errors="replace").strip()


async def connect_unix(path, proc, deadline):
    """Connects to QEMU's socket, retrying until it exists; fails if QEMU exits first."""
    while True:
        try:
            return await asyncio.open_unix_connection(path, limit=LINE_LIMIT)
        except (FileNotFoundError, ConnectionRefusedError):
            if proc.returncode is not None:
                raise RuntimeError(f"qemu exited with status {proc.returncode} before {path} "
                                   "accepted")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{path}: qemu did not accept within "
                                   f"{QEMU_READY_TIMEOUT:.0f} s")
            await asyncio.sleep(0.05)


def send_json(writer, obj):
    writer.write(json.dumps(obj).encode() + b"\n")


def tail_file(path, n=8):
    try:
        with open(path, "rb") as f:
            lines = f.read()[-8192:].decode(errors="replace").strip().splitlines()
        return " | ".join(lines[-n:])
    except OSError:
        return ""


# ---- QMP ----------------------------------------------------------------------------------

class Qmp:
    """QEMU's monitor: one command at a time, events recorded (SHUTDOWN's reason)."""

    def __init__(self, reader, writer, vm):
        self.reader, self.writer, self.vm = reader, writer, vm
        self.pending = None
        self.lock = asyncio.Lock()
        self.shutdown_reason = None

    async def handshake(self, deadline):
        greeting = await asyncio.wait_for(self.reader.readline(),
                                          max(0.1, deadline - time.monotonic()))
        if b"QMP" not in greeting:
            raise RuntimeError(f"qmp: unexpected greeting {greeting[:200]!r}")
        self.task = asyncio.ensure_future(self.read_loop())

    async def read_loop(self):
        try:
            while True:
                line = await self.reader.readline()
                if not line:
                    break
                msg = json.loads(line)
                if "event" in msg:
                    self.on_event(msg)
                elif self.pending and not self.pending.done():
                    self.pending.set_result(msg)
        except (OSError, ValueError) as e:
            self.vm.log.info("qmp: connection ended: %s", e)
        if self.pending and not self.pending.done():
            self.pending.set_exception(RuntimeError("qmp: connection closed"))

    def on_event(self, msg):
        name, data = msg.get("event"), msg.get("data", {})
        self.vm.log.info("qmp event %s %s", name, json.dumps(data))
        if name == "SHUTDOWN":
            self.shutdown_reason = data.get("reason")

    async def command(self, name, timeout=10.0):
        async with self.lock:
            self.pending = asyncio.get_running_loop().create_future()
            send_json(self.writer, {"execute": name})
            await self.writer.drain()
            reply = await asyncio.wait_for(self.pending, timeout)
        if "error" in reply:
            raise RuntimeError(f"qmp {name}: {reply['error'].get('desc', reply['error'])}")
        return reply.get("return")

    def close(self):
        if getattr(self, "task", None):
            self.task.cancel()
        self.writer.close()


# ---- one VM -------------------------------------------------------------------------------

class VmLog(logging.LoggerAdapter):
    """The helper's log, each line naming the VM."""

    def process(self, msg, kwargs):
        return f"[{self.extra['vm']}] {msg}", kwargs


class Vm:
    """One compute system: its QEMU, console relay and exit report."""

    def __init__(self, helper, vm_id):
        self.helper, self.id = helper, vm_id
        self.log = VmLog(log, {"vm": vm_id})
        self.proc = None
        self.qmp = None
        self.serial_writer = None
        self.console_writer = None
        self.held = bytearray()
        self.held_dropped = 0
        self.forced = False
        self.exited = asyncio.get_running_loop().create_future()
        self.ready = asyncio.Event()       # serial connected, console may attach
        self.tap = None
        self.t0 = time.monotonic()
        self.logdir = None
        self.console_log = None

    # launch ------------------------------------------------------------------------------

    async def launch(self, plan):
        a = self.helper.args
        n = self.helper.next_vm_number()
        qmp_path = os.path.join(self.helper.rundir, f"{n}.qmp")
        serial_path = os.path.join(self.helper.rundir, f"{n}.serial")
        self.tap = a.tap if a.tap else f"hb{os.getpid() % 10000}v{n}"
        if plan["mac"] and a.tap and self.helper.tap_user not in (None, self.id):
            raise RuntimeError(f"tap {a.tap} is in use by VM {self.helper.tap_user}")
        if plan["mac"] and a.tap:
            self.helper.tap_user = self.id
        self.logdir = self.helper.vm_logdir(self.id)
        argv = qemu_argv(a, plan, self.id, qmp_path, serial_path, self.tap)
        self.log.info("qemu: %s", " ".join(argv))
        for d in plan["dropped"]:
            self.log.info("kernel argument %s dropped: %s", d, DROPPED_KERNEL_ARGS[d])
        if plan["stop_on_reset"] is not True:
            self.log.info("StopOnReset is not true; QEMU runs with -no-reboot regardless")
        if not plan["com1"]:
            self.log.info("no ComPorts \"0\" in the document: the serial output is only logged")
        qemu_log = open(os.path.join(self.logdir, "qemu.log"), "wb")
        self.console_log = open(os.path.join(self.logdir, "console.log"), "wb")
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *argv, stdin=subprocess.DEVNULL, stdout=qemu_log, stderr=qemu_log,
                preexec_fn=lambda prctl=self.helper.prctl, pid=os.getpid():
                die_with_parent(prctl, pid))
        except OSError:
            self.console_log.close()
            raise
        finally:
            qemu_log.close()
        asyncio.ensure_future(self.watch())
        deadline = time.monotonic() + QEMU_READY_TIMEOUT
        try:
            await self.connect_qemu(qmp_path, serial_path, deadline)
            if plan["mac"] and not a.tap:
                await self.attach_tap()
            await self.qmp.command("cont")
        except Exception as e:
            await self.kill("start failed")
            detail = tail_file(os.path.join(self.logdir, "qemu.log"))
            raise RuntimeError(f"{e}{': ' + detail if detail else ''}") from None
        self.log.info("started in %.0f ms (%s)", (time.monotonic() - self.t0) * 1000,
                      f"disk {plan['disk']['path']}" if plan["disk"] else "no disk")

    async def connect_qemu(self, qmp_path, serial_path, deadline):
        r, w = await connect_unix(qmp_path, self.proc, deadline)
        self.qmp = Qmp(r, w, self)
        await self.qmp.handshake(deadline)
        await self.qmp.command("qmp_capabilities")
        sr, self.serial_writer = await connect_unix(serial_path, self.proc, deadline)
        asyncio.ensure_future(self.serial_to_console(sr))
        self.ready.set()

    async def attach_tap(self):
        bridge = self.helper.args.bridge
        rc, out = await run_cmd(["ip", "link", "set", "dev", self.tap, "master", bridge, "up"])
        if rc != 0:
            raise RuntimeError(f"attaching tap {self.tap} to bridge {bridge}: {out}")
        self.log.info("tap %s on bridge %s", self.tap, bridge)

    # console -----------------------------------------------------------------------------

    async def serial_to_console(self, reader):
        while True:
            try:
                data = await reader.read(65536)
            except OSError:
                data = b""
            if not data:
                return
            self.console_log.write(data)
            self.console_log.flush()
            if self.console_writer is not None:
                try:
                    self.console_writer.write(data)
                    await self.console_writer.drain()
                    continue
                except OSError as e:
                    self.log.info("console connection lost: %s", e)
                    self.console_writer = None
            self.hold(data)

    def hold(self, data):
        self.held += data
        if len(self.held) > HELD_OUTPUT_LIMIT:
            cut = len(self.held) - HELD_OUTPUT_LIMIT
            del self.held[:cut]
            self.held_dropped += cut

    async def attach_console(self, reader, writer):
        if self.console_writer is not None:
            self.log.info("a second console connection replaces the first")
            self.console_writer.close()
        if self.held_dropped:
            self.log.info("%d bytes of early console output were dropped", self.held_dropped)
        writer.write(bytes(self.held))
        self.held.clear()
        self.console_writer = writer
        self.log.info("console connected")
        while not self.exited.done():
            try:
                data = await reader.read(65536)
            except OSError:
                data = b""
            if not data:
                break
            if self.serial_writer is not None and not self.exited.done():
                self.serial_writer.write(data)
                await self.serial_writer.drain()
        if self.console_writer is writer:
            self.console_writer = None
            self.log.info("console connection closed by the fake")

    # stop and exit -----------------------------------------------------------------------

    async def shutdown(self):
        if self.qmp is None or self.exited.done():
            return
        try:
            await self.qmp.command("system_powerdown")
            self.log.info("shutdown: system_powerdown sent (the guest may ignore it)")
        except (RuntimeError, asyncio.TimeoutError, OSError) as e:
            self.log.info("shutdown: %s", e)

    async def kill(self, why):
        if self.proc is None or self.proc.returncode is not None:
            return
        self.log.info("killing qemu (pid %d): %s", self.proc.pid, why)
        try:
            self.proc.kill()
        except ProcessLookupError:
            pass
        try:
            await asyncio.wait_for(asyncio.shield(self.proc.wait()), KILL_WAIT_TIMEOUT)
        except asyncio.TimeoutError:
            self.log.error("qemu (pid %d) still running %.0f s after SIGKILL", self.proc.pid,
                           KILL_WAIT_TIMEOUT)

    async def terminate(self):
        if self.proc is not None and self.proc.returncode is None:
            self.forced = True
            await self.kill("terminate requested")

    async def watch(self):
        rc = await self.proc.wait()
        reason = self.qmp.shutdown_reason if self.qmp else None
        if self.forced:
            kind = FORCED
        elif reason == "guest-shutdown":
            kind = GRACEFUL
        else:
            kind = UNEXPECTED
        self.log.info("qemu exited with status %s after %.0f ms (shutdown reason %s): %s", rc,
                      (time.monotonic() - self.t0) * 1000, reason, kind)
        await asyncio.sleep(0.1)  # let the serial reader take the last bytes
        if self.console_writer is not None:
            try:
                self.console_writer.write(bytes(self.held))
                await asyncio.wait_for(self.console_writer.drain(), 2.0)
            except (OSError, asyncio.TimeoutError):
                pass
            self.console_writer.close()
            self.console_writer = None
        if self.qmp:
            self.qmp.close()
        if self.serial_writer:
            self.serial_writer.close()
        if self.console_log:
            self.console_log.close()
        self.exited.set_result(kind)


# ---- the server ---------------------------------------------------------------------------

class Helper:
    def __init__(self, args):
        self.args = args
        self.vms = {}
        self.count = 0
        self.handlers = {}   # connection task -> its writer
        self.stopping = False
        self.tap_user = None
        self.prctl = ctypes.CDLL(None, use_errno=True).prctl
        # QEMU's sockets (short paths: sun_path holds 108 bytes), removed at the exit.
        if args.work_dir:
            os.makedirs(args.work_dir, exist_ok=True)
        near = args.work_dir and len(os.path.abspath(args.work_dir)) < 80
        self.rundir = tempfile.mkdtemp(prefix=".hcsboot-run-" if near else "hcsboot-",
                                       dir=args.work_dir if near else None)
        self.workdir = args.work_dir or os.path.join(self.rundir, "vms")
        os.makedirs(self.workdir, exist_ok=True)

    def next_vm_number(self):
        self.count += 1
        return self.count

    def vm_logdir(self, vm_id):
        d = os.path.join(self.workdir, vm_id)
        os.makedirs(d, exist_ok=True)
        return d

    async def on_connection(self, reader, writer):
        self.handlers[asyncio.current_task()] = writer
        try:
            await self.handle(reader, writer)
        except asyncio.CancelledError:
            log.info("connection handler cancelled at the exit")
        finally:
            self.handlers.pop(asyncio.current_task(), None)

    async def handle(self, reader, writer):
        peer = writer.get_extra_info("peername")
        try:
            line = await asyncio.wait_for(reader.readline(), FIRST_LINE_TIMEOUT)
            msg = json.loads(line) if line.strip() else None
            if not isinstance(msg, dict):
                raise ValueError("no JSON object")
        except asyncio.TimeoutError:
            log.info("connection from %s said nothing in %.0f s; closed", peer,
                     FIRST_LINE_TIMEOUT)
            writer.close()
            return
        except (ValueError, OSError, asyncio.LimitOverrunError) as e:
            log.info("connection from %s: bad first line: %s", peer, e)
            await self.refuse(writer, f"the first line is not a JSON object ({e})")
            return
        op = msg.get("op")
        try:
            if op == "start":
                await self.control(msg, reader, writer)
            elif op == "console":
                await self.console(msg, reader, writer)
            else:
                log.info("connection from %s: unknown op %r; closed", peer, op)
                await self.refuse(writer, f"unknown op {op!r} (start or console)")
        except (OSError, asyncio.IncompleteReadError) as e:
            log.info("connection from %s (%s) ended: %s", peer, op, e)
        finally:
            writer.close()

    @staticmethod
    async def refuse(writer, why):
        try:
            send_json(writer, {"event": "failed", "message": f"hcsboot: {why}"})
            await asyncio.wait_for(writer.drain(), 2)
        except (OSError, asyncio.TimeoutError):
            pass
        writer.close()

    async def control(self, msg, reader, writer):
        vm_id = msg.get("id")
        if not isinstance(vm_id, str) or not ID_RE.fullmatch(vm_id):
            send_json(writer, {"event": "failed", "message": f"hcsboot: bad VM id {vm_id!r}"})
            await writer.drain()
            return
        if vm_id in self.vms:
            send_json(writer, {"event": "failed",
                               "message": f"hcsboot: VM {vm_id} is already running"})
            await writer.drain()
            return
        vm = Vm(self, vm_id)
        self.vms[vm_id] = vm
        try:
            try:
                await vm.launch(parse_document(msg.get("document")))
            except (DocError, RuntimeError, OSError) as e:
                vm.log.error("start failed: %s", e)
                await self.retire(vm, "start failed")  # the id is free again before the reply
                send_json(writer, {"event": "failed", "message": f"hcsboot: {e}"})
                await writer.drain()
                return
            send_json(writer, {"event": "started"})
            await writer.drain()
            await self.serve_vm(vm, reader, writer)
        finally:
            await self.retire(vm, "control connection closed")

    async def retire(self, vm, why):
        """Kills the VM if it runs, waits for its exit, forgets it."""
        await vm.kill(why)
        if vm.proc is not None:
            try:
                await asyncio.wait_for(asyncio.shield(vm.exited), KILL_WAIT_TIMEOUT + 5)
            except asyncio.TimeoutError:
                vm.log.error("the VM's exit was never seen")
        if self.vms.get(vm.id) is vm:
            del self.vms[vm.id]
        if self.tap_user == vm.id:
            self.tap_user = None

    async def serve_vm(self, vm, reader, writer):
        """Relays ops to the VM and reports its exit, until the fake closes the connection."""
        reported = False
        ops = asyncio.ensure_future(reader.readline())
        while True:
            waits = {ops} if reported else {ops, vm.exited}
            done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            if vm.exited in done and not reported:
                send_json(writer, {"event": "exited", "exit_type": vm.exited.result(),
                                   "status": 0})
                await writer.drain()
                reported = True
            if ops in done:
                line = ops.result()
                if not line:
                    vm.log.info("control connection closed%s",
                                " at hcsboot's exit" if self.stopping else " by the fake")
                    return
                await self.op(vm, line, reported)
                ops = asyncio.ensure_future(reader.readline())

    async def op(self, vm, line, exited):
        try:
            msg = json.loads(line)
            op = msg.get("op") if isinstance(msg, dict) else None
        except ValueError:
            op = None
        if exited:
            vm.log.info("op %r after the exit: ignored", op)
        elif op == "shutdown":
            await vm.shutdown()
        elif op == "terminate":
            await vm.terminate()
        else:
            vm.log.info("unknown control line %r: ignored", line[:200])

    async def console(self, msg, reader, writer):
        vm_id = msg.get("id")
        deadline = time.monotonic() + CONSOLE_WAIT_TIMEOUT
        while vm_id not in self.vms and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        vm = self.vms.get(vm_id)
        if vm is None:
            log.info("console connection for unknown VM %r; closed", vm_id)
            return
        try:
            await asyncio.wait_for(vm.ready.wait(), max(0.1, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            vm.log.info("console connection: the VM never started; closed")
            return
        if vm.exited.done():
            vm.log.info("console connection after the exit; closed")
            return
        await vm.attach_console(reader, writer)

    async def stop_all(self):
        """Kills every VM and waits for its exit to be reported, then ends the connections."""
        self.stopping = True
        vms = list(self.vms.values())
        for vm in vms:
            await vm.kill("hcsboot is exiting")
        waits = [vm.exited for vm in vms if vm.proc is not None]
        if waits:
            await asyncio.wait(waits, timeout=KILL_WAIT_TIMEOUT)
        await asyncio.sleep(0.1)  # the control handlers send "exited"
        for writer in list(self.handlers.values()):
            writer.close()
        if self.handlers:
            await asyncio.wait(list(self.handlers), timeout=5)
        shutil.rmtree(self.rundir, ignore_errors=True)


# ---- main -----------------------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="hcsboot.py",
        description="Boots QEMU from the HCS documents the fake computecore.dll sends "
                    "(test only; protocol in the file's header).",
        epilog="Run it inside the test's network namespace (test/hcs/netns.sh), as root: "
               "ip netns exec NS test/hcs/hcsboot.py --bridge evmbr0 --port-file F --log L")
    p.add_argument("--port", type=int, default=0,
                   help="TCP port on 127.0.0.1 (default 0: any free port)")
    p.add_argument("--port-file", help="write the port here once listening (atomically)")
    net = p.add_mutually_exclusive_group()
    net.add_argument("--bridge", help="bridge for the VMs' NICs: a tap per VM is attached")
    net.add_argument("--tap", help="an existing tap for the NIC (one VM with a NIC at a time)")
    p.add_argument("--log", help="log file (default: stderr)")
    p.add_argument("--work-dir", help="keep each VM's qemu.log and console.log in "
                                      "DIR/<vm id>/ (default: a temporary directory, removed)")
    p.add_argument("--qemu", default="qemu-system-x86_64", help="the QEMU binary")
    p.add_argument("--accel", choices=["tcg", "kvm"], default="tcg",
                   help="QEMU accelerator (default tcg)")
    a = p.parse_args(argv)
    if not 0 <= a.port <= 65535:
        p.error(f"--port {a.port}: not a port")
    if shutil.which(a.qemu) is None:
        p.error(f"--qemu {a.qemu}: not found")
    return a


def setup_logging(path):
    handler = logging.FileHandler(path) if path else logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s.%(msecs)03d hcsboot: %(message)s",
                                           "%H:%M:%S"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)


async def check_bridge(args):
    if args.bridge:
        rc, out = await run_cmd(["ip", "-d", "-o", "link", "show", "dev", args.bridge])
        if rc != 0 or " bridge " not in out:
            raise SystemExit(f"hcsboot: --bridge {args.bridge}: no such bridge in this network "
                             f"namespace ({out or 'not a bridge'})")
    if args.tap:
        rc, out = await run_cmd(["ip", "-o", "link", "show", "dev", args.tap])
        if rc != 0:
            raise SystemExit(f"hcsboot: --tap {args.tap}: no such device ({out})")


async def serve(args):
    await check_bridge(args)
    helper = Helper(args)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    try:
        server = await asyncio.start_server(helper.on_connection, "127.0.0.1", args.port,
                                            limit=LINE_LIMIT)
    except OSError as e:
        await helper.stop_all()
        raise SystemExit(f"hcsboot: listening on 127.0.0.1:{args.port}: {e}") from None
    port = server.sockets[0].getsockname()[1]
    try:
        if args.port_file:
            tmp = f"{args.port_file}.tmp"
            with open(tmp, "w") as f:
                f.write(f"{port}\n")
            os.replace(tmp, args.port_file)
        log.info("listening on 127.0.0.1:%d (accel %s, %s)", port, args.accel,
                 f"bridge {args.bridge}" if args.bridge else
                 f"tap {args.tap}" if args.tap else "no network")
        print(f"hcsboot: listening on 127.0.0.1:{port}", flush=True)
        await stop.wait()
        log.info("stopping")
    finally:
        server.close()
        await helper.stop_all()
    return 0


def main(argv):
    args = parse_args(argv)
    try:
        setup_logging(args.log)
    except OSError as e:
        print(f"hcsboot: --log {args.log}: {e}", file=sys.stderr)
        return 1
    try:
        return asyncio.run(serve(args))
    except SystemExit as e:
        if isinstance(e.code, str):
            if args.log:
                log.error("%s", e.code.removeprefix("hcsboot: "))
            print(e.code, file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
