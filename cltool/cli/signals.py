"""SIGTERM and SIGINT stop any command, wherever they land, with exit 143 / 130 and no traceback.

Python runs a signal handler in the main thread between two bytecodes, and the handler's exception
is raised where that bytecode was. Most of the time that is ordinary code, and the exception unwinds
the command: each `with Output(...)` removes the output it was assembling, and the CLI turns it into
`error: stopped by SIGTERM` and the exit code. Two places do not let it unwind:

- a ctypes callback (llvmlite calls back into Python while Numba compiles or loads a kernel): ctypes
  hands the callback's exception to `sys.unraisablehook` ("Exception ignored on calling ctypes
  callback function") and carries on as if nothing happened. The hook installed here recognises our
  exception, says nothing, and has the signal delivered to the main thread again, so that it is
  raised at a later bytecode: another callback (and again), or the Python code the C call returns to;
- a long call in C (a BLAS product, a FAISS search, an LLVM pass, a Ray wait that does not look at
  signals): the handler runs only when it returns.

So a watchdog thread learns of each signal the moment it arrives (`signal.set_wakeup_fd`: the C-level
handler writes the signal's number to a pipe, in whichever thread the kernel interrupted), and ends
the process with the same exit code if it has not stopped GRACE_S seconds after the first: a hard exit
(`os._exit`), without unwinding, so a temporary output (`.NAME.cltool-tmp-PID`) may be left; the next
run that writes there clears it (its writer's PID is dead). A final output is never touched by a hard
exit: it is only ever replaced, by a rename, when complete. A second signal exits hard at once (the
user insists). The watchdog needs the GIL, which every long C call cltool makes releases (Numba kernels
are nogil, ctypes, BLAS, FAISS, torch and Ray release it).
"""

from __future__ import annotations

import atexit
import os
import select
import signal
import sys
import threading
import time

GRACE_S = 3.0  # how long the normal unwinding may take before the watchdog exits hard
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_SWALLOWED = 0  # written to the watchdog's pipe by the unraisable hook (no signal has number 0)
_QUIT = 255  # written by uninstall: the watchdog ends


class Interrupted(KeyboardInterrupt):
    """A stop signal, raised in the main thread. A KeyboardInterrupt, so that code which handles one
    (click, typer, Ray) treats it as one; the exit code comes from the signal recorded, not from it."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class _State:
    installed = False
    deferring = False  # record, do not raise (while the CLI is imported)
    received: int | None = None  # the first stop signal
    redeliver = False  # the next delivery is ours: raise again
    lock = threading.Lock()
    pipe: tuple[int, int] | None = None
    previous: dict[int, object] = {}
    previous_hook = None
    previous_wakeup = -1
    code: int | None = None  # the exit code main decided on (see finish)


def received() -> int | None:
    """The stop signal this process received, if any."""
    return _State.received


def exit_code(default: int = 130) -> int:
    """128 + the signal received (143 SIGTERM, 130 SIGINT); `default` if none was."""
    return 128 + _State.received if _State.received is not None else default


def _record(signum: int) -> None:
    with _State.lock:
        if _State.received is None:
            _State.received = signum


def _handler(signum: int, frame) -> None:
    _record(signum)
    with _State.lock:
        ours, _State.redeliver = _State.redeliver, False
        first = not getattr(_handler, "raised", False)
        _handler.raised = True
    if _State.deferring:
        _handler.raised = False  # raised by start()
        return
    if first or ours:
        raise Interrupted(_State.received)
    # a repeated signal from outside while the first unwinds: the watchdog exits hard


def _write(text: str) -> None:
    try:  # not through sys.stderr: the main thread may hold its lock
        os.write(2, text.encode())
    except OSError:
        pass


def _hard_exit(why: str) -> None:
    name = signal.Signals(_State.received or signal.SIGINT).name
    _write(f"error: stopped by {name} ({why}); the next run that writes the same output clears what this one "
           f"left unfinished\n")
    os._exit(exit_code())


def _watchdog(read_fd: int) -> None:
    deadline = None
    absorb = 0  # our own re-deliveries, whose bytes are still to come
    main = threading.main_thread().ident
    while True:
        timeout = None if deadline is None else max(deadline - time.monotonic(), 0.0)
        ready, _, _ = select.select([read_fd], [], [], timeout)
        if not ready:
            _hard_exit(f"it did not stop within {GRACE_S:g} s: a call in C that does not return to Python")
        try:
            data = os.read(read_fd, 64)
        except OSError:
            return
        # the grace runs out by the clock, also while the swallowed exception keeps being re-delivered
        # (a Numba compile swallows one every 10 ms, so the pipe is never quiet)
        if deadline is not None and time.monotonic() >= deadline:
            _hard_exit(f"it did not stop within {GRACE_S:g} s: a call that does not return to Python")
        for byte in data:
            if byte == _QUIT:
                os.close(read_fd)
                return
            if byte == _SWALLOWED:  # the exception died in a callback: raise it again a moment later
                time.sleep(0.01)
                with _State.lock:
                    _State.redeliver = True
                absorb += 1
                signal.pthread_kill(main, _State.received or signal.SIGINT)
            elif byte in STOP_SIGNALS:
                if absorb:
                    absorb -= 1
                    continue
                _record(byte)
                if deadline is not None:
                    _hard_exit("a second signal")
                deadline = time.monotonic() + GRACE_S


def _unraisable(unraisable) -> None:
    """An exception that could not propagate (a ctypes callback's, a __del__'s): ours is raised again by
    delivering the signal again; anything else goes to the previous hook."""
    if isinstance(unraisable.exc_value, Interrupted):
        if _State.pipe is not None:
            try:
                os.write(_State.pipe[1], bytes([_SWALLOWED]))
            except OSError:
                pass
        return
    (_State.previous_hook or sys.__unraisablehook__)(unraisable)


_original_signal = signal.signal


def _guarded_signal(signum, handler):
    """signal.signal while ours are installed: SIGTERM stays ours (ray.init sets a handler that exits
    with 15: no unwinding through our exit code); other signals pass through."""
    if _State.installed and signum == signal.SIGTERM and handler is not _handler:
        return _handler
    return _original_signal(signum, handler)


def _after_fork_in_child() -> None:
    if _State.pipe is not None:  # a forked child must not wake its parent's watchdog
        try:
            signal.set_wakeup_fd(-1)
        except ValueError:
            pass
        for fd in _State.pipe:
            try:
                os.close(fd)
            except OSError:
                pass
        _State.pipe = None


def install(defer: bool = False) -> bool:
    """Install the handlers and the watchdog (main thread only); False where they are installed
    already or cannot be. `defer`: a signal is only recorded, not raised, until `start()` (while the
    CLI is being imported: an exception there would escape as a traceback)."""
    if _State.installed or threading.current_thread() is not threading.main_thread():
        return False
    _State.received, _State.redeliver, _State.deferring = None, False, defer
    _handler.raised = False
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    try:
        _State.previous_wakeup = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    except ValueError:
        os.close(read_fd)
        os.close(write_fd)
        return False
    _State.pipe = (read_fd, write_fd)
    threading.Thread(target=_watchdog, args=(read_fd,), name="cltool-stop-watchdog", daemon=True).start()
    for signum in STOP_SIGNALS:
        _State.previous[signum] = _original_signal(signum, _handler)
    _State.previous_hook = sys.unraisablehook
    sys.unraisablehook = _unraisable
    signal.signal = _guarded_signal
    atexit.register(_at_exit)
    _State.installed, _State.code = True, None
    return True


os.register_at_fork(after_in_child=_after_fork_in_child)


def start() -> None:
    """From here on a stop signal raises; one that came while deferred is raised now."""
    _State.deferring = False
    if _State.received is not None:
        _handler.raised = True
        raise Interrupted(_State.received)


def finish(code: int) -> None:
    """The command is over and exits with `code`: a signal from here on is recorded, not raised (it
    would surface in Python's shutdown as "Exception ignored"), and turns the exit code into its own."""
    _State.deferring, _State.code = True, code


def _at_exit() -> None:
    """The last of Python's shutdown that runs Python (registered first, so run last): the process
    ends here with main's code, or the signal's where one came during the shutdown. Past this point
    the interpreter takes its signal handlers away, and a signal would kill the process without an
    exit code of ours; nothing cltool needs runs after it (outputs are closed and renamed, the
    other exit functions have run)."""
    if not _State.installed or _State.code is None:
        return
    code = _State.code
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    if _State.received is not None and code != exit_code():
        _write(f"error: stopped by {signal.Signals(_State.received).name}\n")
        code = exit_code()
    os._exit(code)


def uninstall() -> None:
    """Put back what was there before `install` (a library caller's or a test's own handlers)."""
    if not _State.installed or threading.current_thread() is not threading.main_thread():
        return
    _State.installed = False
    atexit.unregister(_at_exit)
    signal.signal = _original_signal
    for signum in STOP_SIGNALS:
        previous = _State.previous.get(signum)
        _original_signal(signum, previous if previous is not None else signal.SIG_DFL)
    sys.unraisablehook = _State.previous_hook or sys.__unraisablehook__
    signal.set_wakeup_fd(_State.previous_wakeup if _State.previous_wakeup is not None else -1)
    if _State.pipe is not None:
        read_fd, write_fd = _State.pipe
        _State.pipe = None
        try:
            os.set_blocking(write_fd, True)
            os.write(write_fd, bytes([_QUIT]))  # the watchdog closes its end
        finally:
            os.close(write_fd)
