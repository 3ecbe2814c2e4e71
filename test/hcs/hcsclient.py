#!/usr/bin/env python3
"""hcsclient.py — plays the fake computecore.dll's side of the hcsboot.py protocol, so that
test/hcs/test-hcsboot.sh proves the Linux side of a boot without the mingw fakes or wine
(test only). One scenario per run; each step has a timeout; the result is printed as
"ok <what>" / "FAILED: <what>" lines and "timing <name>_ms=<n>" lines, exit 0 when all passed.

  hcsclient.py --port P --id ID --document DOC.json --console-log FILE SCENARIO [options]

Scenarios:
  stop       start; console; wait for EPHEMERD_IP=; the address is in --subnet and the
             stand-in's containerd port (--containerd-port) greets from it; write
             "EPHEMERD_STOP boot_id=<--boot-id>" on the console; exited must be GracefulExit.
  terminate  start; console; wait for EPHEMERD_IP=; send shutdown (our guest ignores it: no
             exit within --ignore-s); send terminate; exited must be ForcedExit.
  panic      start; console; the guest panics (the caller's command line sees to it):
             exited must be UnexpectedExit.
  drop       start; close the control connection at once (hcsboot must kill QEMU; the
             caller checks that no QEMU is left).
  hold       start; print "holding" and keep the connection until hcsboot closes it (the
             caller kills hcsboot and checks that QEMU went with it).
  fail       start; the reply must be failed and its message contain --expect-message.
"""
import argparse
import asyncio
import ipaddress
import json
import sys
import time


class Run:
    def __init__(self, a):
        self.a = a
        self.t0 = time.monotonic()
        self.failures = 0
        self.ip = None
        self.ip_seen = asyncio.Event()
        self.console_closed = asyncio.Event()
        self.buf = b""

    def ms(self):
        return int((time.monotonic() - self.t0) * 1000)

    def check(self, ok, what):
        print(f"{'ok' if ok else 'FAILED:'} {what}", flush=True)
        if not ok:
            self.failures += 1
        return ok

    def timing(self, name):
        print(f"timing {name}_ms={self.ms()}", flush=True)

    async def start(self):
        with open(self.a.document) as f:
            doc = json.load(f)
        self.r, self.w = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", self.a.port, limit=1 << 20), 10)
        self.w.write(json.dumps({"op": "start", "id": self.a.id, "document": doc}).encode()
                     + b"\n")
        await self.w.drain()
        line = await asyncio.wait_for(self.r.readline(), self.a.start_timeout)
        return json.loads(line) if line else {"event": "<connection closed>"}

    async def event(self, timeout):
        line = await asyncio.wait_for(self.r.readline(), timeout)
        return json.loads(line) if line else {"event": "<connection closed>"}

    async def console(self):
        self.cr, self.cw = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", self.a.port), 10)
        self.cw.write(json.dumps({"op": "console", "id": self.a.id}).encode() + b"\n")
        await self.cw.drain()
        self.reader = asyncio.ensure_future(self.read_console())

    async def read_console(self):
        with open(self.a.console_log, "wb") as f:
            while True:
                data = await self.cr.read(65536)
                if not data:
                    break
                f.write(data)
                f.flush()
                self.buf += data
                while b"\n" in self.buf:
                    line, self.buf = self.buf.split(b"\n", 1)
                    self.on_line(line.decode(errors="replace").rstrip("\r"))
        self.console_closed.set()

    def on_line(self, line):
        i = line.find("EPHEMERD_IP=")
        if i >= 0 and self.ip is None:
            self.ip = line[i + len("EPHEMERD_IP="):].split()[0]
            self.ip_seen.set()

    async def wait_ip(self):
        try:
            await asyncio.wait_for(self.ip_seen.wait(), self.a.boot_timeout)
        except asyncio.TimeoutError:
            return self.check(False, f"EPHEMERD_IP= within {self.a.boot_timeout} s")
        self.timing("ip")
        return self.check(True, f"guest address {self.ip}")

    async def probe_port(self):
        """The stand-in's containerd port answers at the guest's address."""
        deadline = time.monotonic() + self.a.port_timeout
        last = None
        while time.monotonic() < deadline:
            try:
                r, w = await asyncio.wait_for(
                    asyncio.open_connection(self.ip, self.a.containerd_port), 3)
                greet = await asyncio.wait_for(r.readline(), 3)
                w.close()
                if greet.startswith(b"ephemerd-standin"):
                    self.timing("port")
                    return self.check(True, f"{self.ip}:{self.a.containerd_port} greets "
                                            f"{greet.decode().strip()!r}")
                last = f"greeting {greet!r}"
            except (OSError, asyncio.TimeoutError) as e:
                last = str(e) or type(e).__name__
            await asyncio.sleep(0.5)
        return self.check(False, f"{self.ip}:{self.a.containerd_port} answers within "
                                 f"{self.a.port_timeout} s (last: {last})")

    async def expect_exit(self, want, timeout):
        try:
            ev = await self.event(timeout)
        except asyncio.TimeoutError:
            return self.check(False, f"exited event within {timeout} s")
        self.timing("exited")
        ok = ev.get("event") == "exited" and ev.get("exit_type") == want
        self.check(ok, f"exited with {want} (got {json.dumps(ev)})")
        try:
            await asyncio.wait_for(self.console_closed.wait(), 5)
            self.check(True, "console connection closed by hcsboot at the exit")
        except asyncio.TimeoutError:
            self.check(False, "console connection closed by hcsboot at the exit")
        return ok

    async def started(self):
        ev = await self.start()
        self.timing("started")
        return self.check(ev.get("event") == "started", f"started (got {json.dumps(ev)})")

    async def scenario_stop(self):
        if not await self.started():
            return
        await self.console()
        if not await self.wait_ip():
            return
        net = ipaddress.ip_network(self.a.subnet)
        self.check(ipaddress.ip_address(self.ip) in net, f"{self.ip} is in {net}")
        await self.probe_port()
        self.cw.write(f"EPHEMERD_STOP boot_id={self.a.boot_id}\n".encode())
        await self.cw.drain()
        self.timing("stop_sent")
        await self.expect_exit("GracefulExit", self.a.exit_timeout)

    async def scenario_terminate(self):
        if not await self.started():
            return
        await self.console()
        if not await self.wait_ip():
            return
        self.w.write(b'{"op":"shutdown"}\n')
        await self.w.drain()
        try:
            ev = await self.event(self.a.ignore_s)
            self.check(False, f"shutdown ignored by the guest (got {json.dumps(ev)})")
            return
        except asyncio.TimeoutError:
            self.check(True, f"shutdown ignored by the guest for {self.a.ignore_s} s")
        self.w.write(b'{"op":"terminate"}\n')
        await self.w.drain()
        self.timing("terminate_sent")
        await self.expect_exit("ForcedExit", 20)

    async def scenario_panic(self):
        if not await self.started():
            return
        await self.console()
        await self.expect_exit("UnexpectedExit", self.a.boot_timeout)

    async def scenario_hold(self):
        if not await self.started():
            return
        print("holding", flush=True)
        try:
            ev = await self.event(self.a.boot_timeout)
            print(f"hcsboot said {json.dumps(ev)}", flush=True)
            if ev.get("event") != "<connection closed>":
                await self.event(30)
        except (OSError, asyncio.TimeoutError):
            pass
        self.check(True, "connection ended")

    async def scenario_drop(self):
        if not await self.started():
            return
        self.w.close()
        self.check(True, "control connection closed")

    async def scenario_fail(self):
        ev = await self.start()
        msg = ev.get("message", "")
        self.check(ev.get("event") == "failed" and self.a.expect_message in msg,
                   f"failed naming {self.a.expect_message!r} (got {json.dumps(ev)})")

    async def run(self):
        try:
            await getattr(self, "scenario_" + self.a.scenario)()
        except (OSError, asyncio.TimeoutError, ValueError) as e:
            self.check(False, f"{self.a.scenario}: {type(e).__name__}: {e}")
        for name in ("w", "cw"):
            if hasattr(self, name):
                getattr(self, name).close()
        if hasattr(self, "reader"):
            self.reader.cancel()
        return 0 if self.failures == 0 else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("scenario", choices=["stop", "terminate", "panic", "drop", "hold", "fail"])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--id", required=True)
    p.add_argument("--document", required=True)
    p.add_argument("--console-log", default="/dev/null")
    p.add_argument("--boot-id", default="")
    p.add_argument("--subnet", default="192.168.213.0/24")
    p.add_argument("--containerd-port", type=int, default=10000)
    p.add_argument("--start-timeout", type=float, default=60)
    p.add_argument("--boot-timeout", type=float, default=300)
    p.add_argument("--port-timeout", type=float, default=60)
    p.add_argument("--exit-timeout", type=float, default=120)
    p.add_argument("--ignore-s", type=float, default=5)
    p.add_argument("--expect-message", default="")
    return asyncio.run(Run(p.parse_args()).run())


if __name__ == "__main__":
    sys.exit(main())
