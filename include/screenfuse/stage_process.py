"""A large batch's stages run each in a process of its own (forked), as Airflow runs each task.

In the one process of `screenfuse run`, what a stage allocated stays partly held after it ends
(Python's and Arrow's heaps give back only whole free areas): in a first load of 1,000,000 records
the fuse stage peaked about 0.4 GB higher after ingest and resolve than on its own. A child process
gives everything back when it exits. A fork costs milliseconds, but an hour with few files runs
in the process: its stages hold little, and every second of such an hour counts.
"""
from __future__ import annotations

import ctypes
import os
import pickle
import signal
import traceback
from multiprocessing import get_context

VARIABLE = "SCREENFUSE_STAGE_PROCESS_MB"
DEFAULT_MB = 64.0  # files of about 200,000 mass-screening rows; an hour of 10,000 records is about 3 MB


_INTERRUPTS = {signal.SIGINT, signal.SIGTERM}


class StageKilled(RuntimeError):
    """A stage's child process ended without an answer (killed, e.g. out of memory)."""


class StageTraceback(Exception):
    """Where a stage run in a child process failed (the child's traceback, as text)."""


def threshold_bytes() -> float:
    """From what size of a batch's files its stages run in child processes
    (SCREENFUSE_STAGE_PROCESS_MB, default 64; 0: every batch)."""
    from screenfuse.config import number_from_env

    return number_from_env(VARIABLE, DEFAULT_MB, "megabytes") * 2**20


def call(isolated: bool, engine, stage, *args, **kwargs):
    """`stage(*args, **kwargs)`, in a forked child when `isolated`; its result or its error as if
    run here. The parent's pooled connections to `engine` are closed first (a connection must not
    be shared across a fork: the child opens its own), and the child closes its own before it ends
    (on SQLite the last close folds the write-ahead log into the database; left open, the next
    connection pays for it). The child and its own workers are a process group: when the parent
    is interrupted, or the child dies, the group is killed, so no stage goes on unwatched (its
    transaction is then rolled back)."""
    if not isolated:
        return stage(*args, **kwargs)
    engine.dispose()
    context = get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_in_child, args=(send, os.getpid(), engine, stage, args, kwargs),
                            name=f"screenfuse {stage.__name__}")
    # Ctrl+C or a stop held back while the child starts. Blocking covers only this thread: a
    # thread a library started (OpenBLAS, Arrow) can still take the signal, and Python then raises
    # it here at any point; so whatever is raised once the child exists kills the child first (left
    # running, the interpreter's exit would wait for it)
    interrupts = signal.pthread_sigmask(signal.SIG_BLOCK, _INTERRUPTS)
    try:
        child.start()
        try:
            os.setpgid(child.pid, child.pid)  # as the child does: whichever runs first, the group exists
        except OSError:  # the child has ended, or set it already
            pass
        send.close()
        signal.pthread_sigmask(signal.SIG_SETMASK, interrupts)  # one held back is raised here
        # the answer, or the child's end: asked of the process itself, since workers it forked hold
        # the pipe and its sentinel open after it died
        while not receive.poll(0.5) and child.is_alive():
            pass
        try:
            answer = receive.recv() if receive.poll() else None
        except EOFError:  # the pipe closed with nothing in it
            answer = None
        if answer is None:
            child.join(5)
            raise StageKilled(f"the stage {stage.__name__} ended without an answer: its process was killed (exit "
                              f"code {child.exitcode}; out of memory?); the batch is not published, run it again")
        done, value, where = answer
    except BaseException:
        signal.pthread_sigmask(signal.SIG_SETMASK, interrupts)
        if child.pid is not None:  # started (raised before that, the child dies with this process)
            _kill_group(child.pid)
        raise
    finally:
        send.close()
        receive.close()
        if child.pid is not None:
            child.join()
    if done:
        return value
    raise value from StageTraceback(where)


def _kill_group(pid: int) -> None:
    for kill in (os.killpg, os.kill):  # the group; else (no group) the child alone
        try:
            kill(pid, signal.SIGKILL)
            return
        except (ProcessLookupError, PermissionError):
            continue


def _in_child(send, parent: int, engine, stage, args, kwargs) -> None:
    """Run the stage and send back (True, result, "") or (False, error, traceback text). An error
    the parent could not rebuild (an exception whose arguments are not its message) goes back as a
    RuntimeError with the same text. The child leads a process group of its own (with the workers
    it forks) and dies with its parent."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _INTERRUPTS)  # the parent held them back while it forked
    os.setpgid(0, 0)
    die_with_parent(parent)  # not Linux: the parent's interrupt handler still kills the group
    try:
        answer = (True, stage(*args, **kwargs), "")
    except BaseException as exc:  # noqa: BLE001 - every ending goes back to the parent, even an interrupt
        answer = (False, exc, traceback.format_exc())
        if not _travels(exc):
            answer = (False, RuntimeError(f"{type(exc).__name__}: {exc}"), answer[2])
    finally:
        engine.dispose()
    try:
        send.send(answer)
    except Exception as exc:  # noqa: BLE001 - an answer that cannot travel is an error, not a silent child
        send.send((False, RuntimeError(f"the stage {stage.__name__} finished but its answer could not be sent back "
                                       f"({type(exc).__name__})"), ""))
    send.close()


def die_with_parent(parent: int) -> None:
    """In a forked process: be killed when the process that forked it (`parent`, its pid) dies, as
    a stage's child and the workers it forks are. A process killed from outside (SIGKILL, the
    out-of-memory killer) cannot stop what it forked; without this, its children would go on
    unwatched, holding memory or a transaction. Linux only; elsewhere nothing is done."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)


def _travels(exc: BaseException) -> bool:
    """Whether the parent rebuilds `exc` as it is: same type, same text (an exception whose
    arguments are not its message is rebuilt wrong, or not at all)."""
    try:
        rebuilt = pickle.loads(pickle.dumps(exc))
    except Exception:  # noqa: BLE001 - any failure to carry it
        return False
    return type(rebuilt) is type(exc) and str(rebuilt) == str(exc)


def release_memory() -> None:
    """Free memory back to the system: Arrow's pool (pandas' strings) and, on glibc, the C heap."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: its allocator returns memory its own way
        pass
